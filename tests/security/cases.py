"""Hostile and ordinary destination URLs with the verdict each must get.

Each case is a URL, then either ``ACCEPTED`` with the host a browser reaches, or the refusal code of
:mod:`tracking.hosts`. The tracking host of the test settings is ``links.example.com``.
"""

from __future__ import annotations

from typing import NamedTuple

ACCEPTED = "accepted"


class Case(NamedTuple):
    url: str
    verdict: str
    host: str | None = None  # for accepted URLs: the canonical host (IPv6 in brackets)


def ok(url: str, host: str) -> Case:
    return Case(url, ACCEPTED, host)


def no(url: str, code: str) -> Case:
    return Case(url, code)


# The five forms an outside review found accepted and redirected to.
REPORTED = [
    no("http://0x7f.0x1:8080/admin", "not_public"),  # 127.0.0.1
    no("http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/", "not_public"),  # 169.254.169.254
    no("http://192.168.0.0x1/", "not_public"),  # 192.168.0.1
    no("http://127.0.0.0x1/", "not_public"),  # 127.0.0.1
    no("http://0x.0x/", "not_public"),  # 0.0.0.0
]

IPV4_FORMS = [
    no("http://127.0.0.1/", "not_public"),
    no("http://127.1/", "not_public"),
    no("http://127.0.1/", "not_public"),
    no("http://2130706433/", "not_public"),
    no("http://017700000001/", "not_public"),
    no("http://0x7f000001/", "not_public"),
    no("http://0X7F.0.0.1/", "not_public"),
    no("http://0177.0.0.1/", "not_public"),
    no("http://0177.0.0.01/", "not_public"),
    no("http://00000177.0.0.1/", "not_public"),
    no("http://0x0000007f.1/", "not_public"),
    no("http://127.0.0.1./", "not_public"),
    no("http://127.0.0.1:80/", "not_public"),
    no("http://0x7f.1./admin", "not_public"),
    no("http://0/", "not_public"),
    no("http://0.0.0.0/", "not_public"),
    no("http://0x0/", "not_public"),
    no("http://0x/", "not_public"),
    no("http://00/", "not_public"),
    no("http://10.0.0.1/", "not_public"),
    no("http://012.0.0.1/", "not_public"),
    no("http://167772161/", "not_public"),
    no("http://0xa.0x0.0x0.0x1/", "not_public"),
    no("http://10.1/", "not_public"),
    no("http://172.16.0.1/", "not_public"),
    no("http://172.31.255.255/", "not_public"),
    no("http://0xac.0x10.0.1/", "not_public"),
    no("http://192.168.1.1/", "not_public"),
    no("http://3232235777/", "not_public"),
    no("http://0300.0250.1.1/", "not_public"),
    no("http://192.168.257/", "not_public"),
    no("http://0xc0a80101/", "not_public"),
    no("http://169.254.169.254/", "not_public"),
    no("http://2852039166/", "not_public"),
    no("http://0251.0376.0251.0376/", "not_public"),
    no("http://169.254.43518/", "not_public"),
    no("http://0xa9fea9fe/", "not_public"),
    no("http://100.64.0.1/", "not_public"),
    no("http://100.127.255.255/", "not_public"),
    no("http://198.18.0.1/", "not_public"),
    no("http://198.19.255.255/", "not_public"),
    no("http://192.0.0.9/", "not_public"),
    no("http://192.0.2.1/", "not_public"),
    no("http://198.51.100.7/", "not_public"),
    no("http://203.0.113.7/", "not_public"),
    no("http://192.88.99.1/", "not_public"),
    no("http://224.0.0.1/", "not_public"),
    no("http://239.255.255.250/", "not_public"),
    no("http://240.0.0.1/", "not_public"),
    no("http://255.255.255.255/", "not_public"),
    no("http://4294967295/", "not_public"),
    ok("http://8.8.8.8/", "8.8.8.8"),
    ok("http://134744072/", "8.8.8.8"),
    ok("http://0x8.0x8.0x8.0x8/", "8.8.8.8"),
    ok("http://010.010.010.010/", "8.8.8.8"),
    ok("http://8.8.2056/", "8.8.8.8"),
    ok("http://8.526344/", "8.8.8.8"),
    ok("http://1.1.1.1/", "1.1.1.1"),
    ok("http://93.184.215.14:8080/x", "93.184.215.14"),
    ok("http://172.32.0.1/", "172.32.0.1"),
    ok("http://100.128.0.1/", "100.128.0.1"),
    ok("http://198.20.0.1/", "198.20.0.1"),
    ok("http://1.2.65535/", "1.2.255.255"),
    no("http://256.0.0.1/", "invalid_host"),
    no("http://1.2.3.256/", "invalid_host"),
    no("http://1.2.65536/", "invalid_host"),
    no("http://4294967296/", "invalid_host"),
    no("http://0x100000000/", "invalid_host"),
    no("http://1.2.3.4.5/", "invalid_host"),
    no("http://08.0.0.1/", "invalid_host"),
    no("http://1.2.3.09/", "invalid_host"),
    no("http://0x7g.0.0.1/", "invalid_host"),
    no("http://1..1/", "invalid_host"),
    no("http://127.0.0.1../", "invalid_host"),
    no("http://example.123/", "invalid_host"),
    no("http://example.0x1/", "invalid_host"),
    no("http://-1.0.0.1/", "invalid_host"),
    no("http://+127.0.0.1/", "invalid_host"),
    no("http://1_27.0.0.1/", "invalid_host"),
    no("http://0x7f.1.1.1.1/", "invalid_host"),
    no("http://" + "1" * 300 + "/", "invalid_host"),
    no("http://0x" + "f" * 300 + "/", "invalid_host"),
]

PERCENT_AND_UNICODE = [
    no("http://%31%32%37.0.0.1/", "not_public"),
    no("http://127%2e0%2e0%2e1/", "not_public"),
    no("http://%30x7f.1/", "not_public"),
    no("http://%6c%6f%63%61%6c%68%6f%73%74/", "local_name"),
    no("http://localhost%2e/", "local_name"),
    no("http://%20127.0.0.1/", "invalid_host"),
    no("http://127.0.0.1%00/", "invalid_host"),
    no("http://exa%2fmple.com/", "invalid_host"),
    no("http://evil.com%40good.com/", "invalid_host"),
    no("http://exa%3ample.com/", "invalid_host"),
    no("http://%ff.example/", "invalid_host"),
    no("http://exa%mple.com/", "invalid_host"),
    ok("http://ex%61mple.com/", "example.com"),
    ok("http://b%C3%BCcher.example/", "xn--bcher-kva.example"),
    no("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "not_public"),
    no("http://127\u30020\u30020\u30021/", "not_public"),
    no("http://127\uff0e0\uff0e0\uff0e1/", "not_public"),
    no("http://127\uff610\uff610\uff611/", "not_public"),
    no("http://\uff10\uff58\uff17\uff46.1/", "not_public"),
    no("http://\uff2c\uff2f\uff23\uff21\uff2c\uff28\uff2f\uff33\uff34/", "local_name"),
    no("http://localhost\u3002/", "local_name"),
    no("http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/", "local_name"),
    ok("http://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/", "example.com"),
    ok("http://example\u3002com/", "example.com"),
    ok("http://exa\u00admple.com/", "example.com"),
    no("http://a.com%EF%BC%8Fb.com/", "invalid_host"),
    no("http://evil.com\uff0fgood.com/", "unparsable"),
    no("http://example.com\uff20evil.com/", "unparsable"),
]

IDN = [
    ok("http://bücher.example/", "xn--bcher-kva.example"),
    ok("https://bücher.example/über", "xn--bcher-kva.example"),
    ok("http://BÜCHER.example/", "xn--bcher-kva.example"),
    ok("http://xn--bcher-kva.example/", "xn--bcher-kva.example"),
    ok("http://XN--BCHER-KVA.example/", "xn--bcher-kva.example"),
    ok("http://faß.de/", "xn--fa-hia.de"),
    ok("http://xn--fa-hia.de/", "xn--fa-hia.de"),
    ok("http://fass.de/", "fass.de"),
    ok("http://ς.gr/", "xn--3xa.gr"),
    ok("http://例え.テスト/", "xn--r8jz45g.xn--zckzah"),
    ok("http://münchen.de/", "xn--mnchen-3ya.de"),
    ok("http://пример.рф/", "xn--e1afmkfd.xn--p1ai"),
    ok("http://xn--e1afmkfd.xn--p1ai/", "xn--e1afmkfd.xn--p1ai"),
    ok("http://مثال.إختبار/", "xn--mgbh0fb.xn--kgbechtv"),
    ok("http://ab--cd.example.com/", "ab--cd.example.com"),
    no("http://xn--/", "invalid_host"),
    no("http://xn--.example.com/", "invalid_host"),
    no("http://xn--a.example/", "invalid_host"),
    no("http://a\u200db.com/", "invalid_host"),
    no("http://i\u2764.ws/", "invalid_host"),
    no("http://xn--ls8h.la/", "invalid_host"),
    no("http://\u0661\u0662\u0663.com/", "invalid_host"),
    no("http://bücher.localhost/", "local_name"),
    no("http://例え.local/", "local_name"),
    no("http://" + "ü" * 64 + ".com/", "invalid_host"),
    no("http://" + "ü" * 300 + ".com/", "invalid_host"),
    no("http://" + "\u00ad" * 400 + "example.com/", "invalid_host"),
]

NAMES = [
    ok("http://example.com/", "example.com"),
    ok("http://EXAMPLE.COM/", "example.com"),
    ok("http://example.com./", "example.com."),
    ok("http://www.example.co.uk/", "www.example.co.uk"),
    ok("http://sub-domain.example.com/", "sub-domain.example.com"),
    ok("http://a.b/", "a.b"),
    ok("http://1.2.3.4.example/", "1.2.3.4.example"),
    ok("http://" + "a" * 63 + ".com/", "a" * 63 + ".com"),
    no("http://" + "a" * 64 + ".com/", "invalid_host"),
    no("http://" + "a." * 126 + "com/", "invalid_host"),
    no("http://localhost/", "local_name"),
    no("http://localhost:8000/", "local_name"),
    no("http://LOCALHOST/", "local_name"),
    no("http://localhost./", "local_name"),
    no("http://foo.localhost/", "local_name"),
    no("http://intranet/", "local_name"),
    no("http://example/", "local_name"),
    no("http://com/", "local_name"),
    no("http://printer.local/", "local_name"),
    no("http://db.internal/", "local_name"),
    no("http://metadata.google.internal/computeMetadata/v1/", "local_name"),
    no("http://1.0.0.127.in-addr.arpa/", "local_name"),
    no("http://router.home.arpa/", "local_name"),
    no("http://nas.lan/", "local_name"),
    no("http://wiki.corp/", "local_name"),
    no("http://server.home/", "local_name"),
    no("http://host.localdomain/", "local_name"),
    no("http://files.intranet/", "local_name"),
    no("http://vault.private/", "local_name"),
    no("http://-bad.example.com/", "invalid_host"),
    no("http://bad-.example.com/", "invalid_host"),
    no("http://a..example.com/", "invalid_host"),
    no("http://.example.com/", "invalid_host"),
    no("http://exa_mple.com/", "invalid_host"),
    no("http://a_b.example.com/", "invalid_host"),
    no("http://ex*ample.com/", "invalid_host"),
    no("http://exa<mple.com/", "invalid_host"),
    no("http://exa^mple.com/", "invalid_host"),
    no("http://exa|mple.com/", "invalid_host"),
    no("http://exa'mple.com/", "invalid_host"),
    no("http://exa!mple.com/", "invalid_host"),
]

LOOPS = [
    no("https://links.example.com/track/x", "loop"),
    no("https://LINKS.example.com./track/x", "loop"),
    no("http://links.example.com:8443/", "loop"),
    no("https://links%2eexample.com/track/x", "loop"),
    no("https://\uff4c\uff49\uff4e\uff4b\uff53.example.com/track/x", "loop"),
    ok("https://links.example.com.evil.com/", "links.example.com.evil.com"),
    ok("https://evil.links.example.com/", "evil.links.example.com"),
]

IPV6 = [
    no("http://[::1]/", "not_public"),
    no("http://[::]/", "not_public"),
    no("http://[0:0:0:0:0:0:0:1]/", "not_public"),
    no("http://[::1]:80/admin", "not_public"),
    no("http://[::127.0.0.1]/", "not_public"),
    no("http://[::7f00:1]/", "not_public"),
    no("http://[::ffff:127.0.0.1]/", "not_public"),
    no("http://[::ffff:7f00:1]/", "not_public"),
    no("http://[::ffff:127.0.0.1]:8080/", "not_public"),
    no("http://[::ffff:169.254.169.254]/", "not_public"),
    no("http://[::ffff:a9fe:a9fe]/", "not_public"),
    no("http://[::ffff:8.8.8.8]/", "not_public"),
    no("http://[64:ff9b::7f00:1]/", "not_public"),
    no("http://[64:ff9b::127.0.0.1]/", "not_public"),
    no("http://[64:ff9b::a9fe:a9fe]/", "not_public"),
    no("http://[64:ff9b::808:808]/", "not_public"),
    no("http://[64:ff9b:1::a00:1]/", "not_public"),
    no("http://[2002:7f00:1::1]/", "not_public"),
    no("http://[2002:a9fe:a9fe::]/", "not_public"),
    no("http://[2002:c0a8:101::1]/", "not_public"),
    no("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "not_public"),
    no("http://[2001:0:7f00:1::]/", "not_public"),
    no("http://[fe80::1]/", "not_public"),
    no("http://[fc00::1]/", "not_public"),
    no("http://[fd12:3456::1]/", "not_public"),
    no("http://[fec0::1]/", "not_public"),
    no("http://[ff02::1]/", "not_public"),
    no("http://[100::1]/", "not_public"),
    no("http://[2001:db8::1]/", "not_public"),
    no("http://[3fff::1]/", "not_public"),
    ok("http://[2002:808:808::1]/", "[2002:808:808::1]"),
    ok("http://[2001:4860:4860::8888]/", "[2001:4860:4860::8888]"),
    ok("http://[2001:4860:4860:0:0:0:0:8888]/", "[2001:4860:4860::8888]"),
    ok("http://[2606:4700:4700::1111]:8443/", "[2606:4700:4700::1111]"),
    ok("http://[2606:4700:4700::1111]:/", "[2606:4700:4700::1111]"),
    no("http://[fe80::1%25eth0]/", "invalid_host"),
    no("http://[fe80::1%eth0]/", "invalid_host"),
    no("http://[::1/", "unparsable"),
    no("http://[::1]x/", "invalid_host"),
    no("http://[1.2.3.4]/", "unparsable"),
    no("http://[::1:2:3:4:5:6:7:8]/", "unparsable"),
    no("http://[gggg::1]/", "unparsable"),
    no("http://[::01.2.3.4]/", "unparsable"),
    no("http://[v1.fe80::a]/", "invalid_host"),
    no("http://::1/", "unparsable"),
]

USERINFO = [
    no("https://user:pass@example.com/", "userinfo"),
    no("http://user@example.com/", "userinfo"),
    no("http://@example.com/", "userinfo"),
    no("http://:@example.com/", "userinfo"),
    no("http://example.com@evil.com/", "userinfo"),
    no("http://good.com:80@127.0.0.1/", "userinfo"),
    no("http://user%40x@example.com/", "userinfo"),
    no("http://a@b@example.com/", "userinfo"),
    ok("http://evil.com#@good.com/", "evil.com"),
    ok("http://evil.com?@good.com/", "evil.com"),
    ok("http://example.com/@evil.com", "example.com"),
]

BACKSLASHES_AND_SLASHES = [
    no("http://evil.com\\@good.com/", "ambiguous"),
    no("http://good.com\\@127.0.0.1/", "ambiguous"),
    no("http://127.0.0.1\\.example.com/", "ambiguous"),
    no("https://example.com\\", "ambiguous"),
    no("https://example.com\\.evil.com/", "ambiguous"),
    no("http:\\\\example.com/", "slashes"),
    no("http:/\\example.com/", "slashes"),
    no("http:\\/example.com/", "slashes"),
    no("http:///example.com/", "slashes"),
    no("http:////example.com/", "slashes"),
    no("http:example.com", "slashes"),
    no("http:/example.com", "slashes"),
    no("https:example.com/x", "slashes"),
    no("http:///", "slashes"),
    ok("https://example.com/path\\with\\backslashes", "example.com"),
    ok("https://example.com/?q=a\\b", "example.com"),
]

WHITESPACE_AND_CONTROL = [
    no("http://exa\tmple.com/", "control"),
    no("http://127.0.\n0.1/", "control"),
    no("http://127.0.0.1\r.example.com/", "control"),
    no("http://example.com/\x00", "control"),
    no("http://exa\x00mple.com/", "control"),
    no("http://example.com/a b", "control"),
    no("http://example.com /", "control"),
    no("http://exa\u00a0mple.com/", "control"),
    no("http://exa\u3000mple.com/", "control"),
    no("http://exa\u2028mple.com/", "control"),
    no("http://exa\x7fmple.com/", "control"),
    no("http://exa\x1bmple.com/", "control"),
    no("http://ex\x85ample.com/", "control"),
    no("java\tscript:alert(1)", "control"),
    ok(" http://example.com/ ", "example.com"),
    ok("\thttp://example.com/", "example.com"),
    ok("http://example.com/\n", "example.com"),
    ok("http://example.com/%0d%0aSet-Cookie:x=1", "example.com"),
    ok("http://ex\u200bample.com/", "example.com"),
]

PORTS = [
    ok("http://example.com:8080/", "example.com"),
    ok("https://example.com:443/", "example.com"),
    ok("http://example.com:65535/", "example.com"),
    ok("http://example.com:/", "example.com"),
    ok("http://example.com:08080/", "example.com"),
    no("http://example.com:0/", "port"),
    no("http://example.com:00/", "port"),
    no("http://example.com:65536/", "unparsable"),
    no("http://example.com:99999/", "unparsable"),
    no("http://example.com:-1/", "unparsable"),
    no("http://example.com:+80/", "unparsable"),
    no("http://example.com:80:80/", "unparsable"),
    no("http://example.com:8o/", "unparsable"),
    no("http://example.com:\u0668\u0660/", "unparsable"),
    no("http://example.com:\uff11\uff12/", "unparsable"),
    no("http://127.0.0.1:8080/", "not_public"),
    no("http://:80/", "no_host"),
]

SCHEMES = [
    no("javascript:alert(1)", "scheme"),
    no("JAVASCRIPT:alert(1)", "scheme"),
    no(" javascript:alert(1)", "scheme"),
    no("vbscript:msgbox(1)", "scheme"),
    no("data:text/html,<script>alert(1)</script>", "scheme"),
    no("ftp://example.com/file", "scheme"),
    no("file:///etc/passwd", "scheme"),
    no("ws://example.com/", "scheme"),
    no("wss://example.com/", "scheme"),
    no("gopher://127.0.0.1:70/", "scheme"),
    no("mailto:alice@example.com", "scheme"),
    no("blob:https://example.com/uuid", "scheme"),
    no("view-source:http://example.com/", "scheme"),
    no("http+unix://example.com/", "scheme"),
    no("//evil.example.com", "scheme"),
    no("example.com", "scheme"),
    no("http", "scheme"),
    ok("HTTP://EXAMPLE.COM/", "example.com"),
    ok("HtTpS://example.com/", "example.com"),
]

EMPTY_AND_LONG = [
    no("https://", "no_host"),
    no("http://?x", "no_host"),
    no("http://#x", "no_host"),
    no("https://example.com/" + "a" * 1000, "too_long"),
    ok("https://example.com/" + "a" * 980, "example.com"),
    no("http://" + "a" * 980 + ".com/", "invalid_host"),
]

ACCEPTED_ORDINARY = [
    ok("https://linkedin.com/in/steve-glen", "linkedin.com"),
    ok("https://www.linkedin.com/in/steve-glen/", "www.linkedin.com"),
    ok("https://calendly.com/steve-glen/30min?month=2025-08#top", "calendly.com"),
    ok("https://github.com/steveglen", "github.com"),
    ok("https://jobs.example.org/apply?id=42&src=email", "jobs.example.org"),
]

ALL_CASES = (
    REPORTED
    + IPV4_FORMS
    + PERCENT_AND_UNICODE
    + IDN
    + NAMES
    + LOOPS
    + IPV6
    + USERINFO
    + BACKSLASHES_AND_SLASHES
    + WHITESPACE_AND_CONTROL
    + PORTS
    + SCHEMES
    + EMPTY_AND_LONG
    + ACCEPTED_ORDINARY
)
