"""Load demo data: the seed's sample records plus a few weeks of generated job-search activity."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from tracking import company, geo, services
from tracking.classify import ClickSignals, classify_into
from tracking.models import (
    ApplicationStatus,
    Job,
    JobApplication,
    LinkClick,
    ProfileLink,
    TrackedLink,
)

SEED_JOB_ID = uuid.UUID("550e8400-e29b-41d4-a716-446655440000")
SEED_APPLICATION_ID = uuid.UUID("550e8400-e29b-41d4-a716-446655440001")

# (title, company, posting URL) of the generated jobs: example.com-style hosts only.
DEMO_JOBS = [
    ("Marketing Manager", "Northwind Traders", "https://careers.northwind.example.com/jobs/1042"),
    ("Senior Backend Engineer", "Contoso", "https://jobs.contoso.example.com/postings/backend-sr"),
    ("Data Analyst", "Fabrikam", "https://fabrikam.example.org/careers/data-analyst"),
    ("Product Designer", "Tailspin Toys", "https://tailspin.example.net/careers/designer"),
]
PROFILE_URLS = {
    "LinkedIn": ("profile", "https://linkedin.com/in/steve-glen"),
    "Calendly": ("networking", "https://calendly.com/steve-glen/30min"),
    "Portfolio": ("profile", "https://steveglen.com"),
    "GitHub": ("profile", "https://github.com/steve-glen"),
}
# Seed 001's "Standard User Link Functions" (and GitHub) as profile links, in the order the seed's
# e-mail template lists them: link packages and the template work out of the box.
PROFILE_DESCRIPTIONS = {
    "LinkedIn": "Professional profile",
    "Portfolio": "Personal portfolio",
    "Calendly": "Meeting scheduling",
    "GitHub": "Code on GitHub",
}
HUMAN_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
]
# Automated visitors, as they really show up: (user agent, HTTP method, Accept-Language sent,
# address). classify.py decides what each one is; nothing here labels a click by hand.
AUTOMATED_VISITS = [
    (
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "GET",
        False,
        "108.174.2.{n}",
    ),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "GET", False, "54.80.1.{n}"),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "GET",
        False,
        "66.249.66.{n}",
    ),
    # Microsoft Safe Links: a browser-like agent from an Exchange Online Protection network.
    (HUMAN_AGENTS[0], "GET", True, "40.107.21.{n}"),
    (HUMAN_AGENTS[0], "HEAD", False, "203.0.113.{n}"),
    ("", "GET", False, "198.51.100.{n}"),
]


def _demo_place(country: str, region: str, city: str) -> dict[str, Any]:
    return {
        "country": {"iso_code": country, "names": {"en": country}},
        "subdivisions": [{"names": {"en": region}}],
        "city": {"names": {"en": city}},
    }


def _demo_network(asn: int, organisation: str) -> dict[str, Any]:
    return {"autonomous_system_number": asn, "autonomous_system_organization": organisation}


# The demo geodata: made-up places for the demo clicks' addresses (203.0.113.0/24 is a
# documentation range; the people's ASNs are from the private-use range of RFC 6996). The
# automated visitors' networks carry their real operators' ASNs, so that the classifier's
# network rules show on the demo.
DEMO_NETWORKS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "203.0.113.0/27": (_demo_place("DE", "Berlin", "Berlin"), _demo_network(64512, "Demo Home DE")),
    "203.0.113.32/27": (
        _demo_place("US", "New York", "New York"),
        _demo_network(64513, "Demo Cable US"),
    ),
    "203.0.113.64/27": (
        _demo_place("GB", "England", "London"),
        _demo_network(64514, "Demo Fibre GB"),
    ),
    "203.0.113.96/27": (
        _demo_place("FR", "Île-de-France", "Paris"),
        _demo_network(64515, "Demo Home FR"),
    ),
    "203.0.113.128/27": (
        _demo_place("NL", "North Holland", "Amsterdam"),
        _demo_network(64516, "Demo Home NL"),
    ),
    "203.0.113.160/27": (
        _demo_place("CA", "Ontario", "Toronto"),
        _demo_network(64517, "Demo Cable CA"),
    ),
    "203.0.113.192/27": (
        _demo_place("ES", "Madrid", "Madrid"),
        _demo_network(64518, "Demo Mobile ES"),
    ),
    # The office network of one demo job's company: its clicks show "Someone at Fabrikam opened
    # it" (tracking.company).
    "203.0.113.224/27": (
        _demo_place("US", "Washington", "Seattle"),
        _demo_network(64519, "FABRIKAM-CORP-AS"),
    ),
    "40.107.0.0/16": (
        _demo_place("IE", "Leinster", "Dublin"),
        _demo_network(8075, "MICROSOFT-CORP-MSN-AS-BLOCK"),
    ),
    "54.80.0.0/16": (
        _demo_place("US", "Virginia", "Ashburn"),
        _demo_network(14618, "AMAZON-AES"),
    ),
    "66.249.64.0/19": (
        _demo_place("US", "California", "Mountain View"),
        _demo_network(15169, "GOOGLE"),
    ),
}
REFERRERS = [
    "https://mail.google.com/",
    "https://outlook.office.com/",
    "https://www.linkedin.com/feed/",
    None,
]


class Command(BaseCommand):
    help = (
        "Load demo data when the database has no links: the seed's sample jobs, links and clicks, "
        "plus generated applications and clicks over the last 30 days. Use --force to add it anyway."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Load even if links exist.")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")

    def handle(self, *args: Any, **options: Any) -> None:
        if TrackedLink.objects.exists() and not options["force"]:
            self.stdout.write("Links already exist; demo data not loaded (use --force).")
            return
        rng = random.Random(options["seed"])
        demo_geo = self._write_demo_geodata()
        with transaction.atomic():
            profiles = self._load_profile_links()
            links = self._load_seed_samples()
            links += self._load_generated(rng)
            clicks = self._generate_clicks(rng, links)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {Job.objects.count()} jobs, {JobApplication.objects.count()} "
                f"applications, {len(links)} links, {clicks} clicks, {profiles} new profile links."
            )
        )
        if demo_geo:
            self.stdout.write(
                f"No geodata configured: made-up demo databases written to "
                f"{settings.GEOIP_DEMO_DIR} (used only while GEOIP_CITY_PATH and GEOIP_ASN_PATH "
                "are unset)."
            )

    def _write_demo_geodata(self) -> bool:
        """Write the demo databases unless real ones are configured; True when written."""
        if settings.GEOIP_CITY_PATH or settings.GEOIP_ASN_PATH:
            return False
        demo_dir = Path(settings.GEOIP_DEMO_DIR)
        geo.write_database(
            demo_dir / geo.DEMO_CITY_FILE,
            database_type="Demo-City",
            description=geo.DEMO_DESCRIPTION,
            networks={network: place for network, (place, _asn) in DEMO_NETWORKS.items()},
        )
        geo.write_database(
            demo_dir / geo.DEMO_ASN_FILE,
            database_type="Demo-ASN",
            description=geo.DEMO_DESCRIPTION,
            networks={network: asn for network, (_place, asn) in DEMO_NETWORKS.items()},
        )
        geo.reset()
        return True

    def _load_profile_links(self) -> int:
        """Add the standard profile links that are missing; the user's own are left as they are."""
        created = 0
        for order, (function, description) in enumerate(PROFILE_DESCRIPTIONS.items(), start=1):
            link_type, url = PROFILE_URLS[function]
            values = services.validate_profile_link(
                link_function=function, link_type=link_type, url=url
            )
            _, was_created = ProfileLink.objects.get_or_create(
                link_function=values["link_function"],
                defaults={
                    "link_type": values["link_type"],
                    "url": values["url"],
                    "description": description,
                    "order": order * 10,
                },
            )
            created += was_created
        return created

    def _load_seed_samples(self) -> list[dict[str, Any]]:
        job, _ = Job.objects.get_or_create(
            id=SEED_JOB_ID,
            defaults={
                "title": "Marketing Manager",
                "company_name": "Example Corp",
                "posting_url": "https://careers.example.com/jobs/marketing-manager",
            },
        )
        application, created = JobApplication.objects.get_or_create(
            id=SEED_APPLICATION_ID,
            defaults={
                "job": job,
                "status": ApplicationStatus.SUBMITTED,
                # Sent shortly before the seed's sample clicks: no click precedes its sending.
                "submitted_at": dt.datetime(2025, 7, 27, 20, 30, tzinfo=dt.UTC),
            },
        )
        if created:
            services.record_initial_status(application=application, changed_by="demo")
        links = []
        for tracking_id, function, link_type, url, description in [
            (
                "lt_linkedin_001",
                "LinkedIn",
                "profile",
                "https://linkedin.com/in/steve-glen",
                "Professional LinkedIn profile",
            ),
            (
                "lt_calendly_002",
                "Calendly",
                "networking",
                "https://calendly.com/steve-glen/30min",
                "Schedule interview meeting",
            ),
        ]:
            if not TrackedLink.objects.filter(tracking_id=tracking_id).exists():
                links.append(
                    services.create_tracked_link(
                        tracking_id=tracking_id,
                        original_url=url,
                        link_function=function,
                        link_type=link_type,
                        job_id=SEED_JOB_ID,
                        application_id=SEED_APPLICATION_ID,
                        description=description,
                    )
                )
        # The seed's two sample clicks, verbatim (dated 2025-07-27).
        samples = [
            (
                "lt_linkedin_001",
                dt.datetime(2025, 7, 27, 21, 15, 30, tzinfo=dt.UTC),
                "192.168.1.100",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
                "https://gmail.com",
                "sess_abc123",
                "email",
                {"utm_source": "email", "utm_medium": "application"},
            ),
            (
                "lt_calendly_002",
                dt.datetime(2025, 7, 27, 21, 20, 15, tzinfo=dt.UTC),
                "192.168.1.101",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36",
                "https://linkedin.com",
                "sess_xyz789",
                "linkedin",
                {"utm_campaign": "networking"},
            ),
        ]
        sample_clicks = []
        for tid, when, ip, ua, ref, sess, src, meta in samples:
            click = services.build_click(
                tracking_id=tid,
                clicked_at=when,
                ip_address=ip,
                user_agent=ua,
                referrer_url=ref,
                session_id=sess,
                click_source=src,
                metadata=meta,
            )
            # The seed does not say which headers came with its samples: classify them as the
            # ordinary browser visits they describe.
            classify_into(
                click,
                ClickSignals(
                    user_agent=ua,
                    client_ip=ip,
                    has_accept_language=True,
                    link_created_at=None,
                    application_id=str(SEED_APPLICATION_ID),
                ),
            )
            sample_clicks.append(click)
        services.insert_clicks(sample_clicks)
        return links

    def _load_generated(self, rng: random.Random) -> list[dict[str, Any]]:
        """Applications sent over the last weeks, each with its links and a planned outcome."""
        now = timezone.now()
        links = []
        for title, company_name, posting_url in DEMO_JOBS:
            job = Job.objects.create(
                title=title, company_name=company_name, posting_url=posting_url
            )
            for _ in range(rng.randint(2, 4)):
                sent_at = now - dt.timedelta(days=rng.randint(3, 40), minutes=rng.randint(0, 600))
                application = services.create_application(
                    job_id=job.id,
                    status=ApplicationStatus.SUBMITTED,
                    submitted_at=sent_at,
                    contact_name=rng.choice(["Dana Recruiter", "Sam Hiring", "Alex Talent"]),
                    changed_by="demo",
                )
                plan = self._plan(rng, sent_at, now)
                package = []
                for function, (link_type, url) in PROFILE_URLS.items():
                    package.append(
                        services.create_tracked_link(
                            original_url=url,
                            link_function=function,
                            link_type=link_type,
                            job_id=job.id,
                            application_id=application.id,
                            created_by="demo",
                        )
                    )
                package.append(
                    services.create_tracked_link(
                        original_url=posting_url,
                        link_function="Job_Posting",
                        link_type="job_posting",
                        job_id=job.id,
                        application_id=application.id,
                        created_by="demo",
                    )
                )
                for link in package:
                    link["demo_plan"] = plan
                links += package
                for status, when in plan["statuses"]:
                    services.change_application_status(
                        application_id=application.id,
                        status=status,
                        changed_at=when,
                        note="Demo timeline",
                        changed_by="demo",
                    )
        return links

    @staticmethod
    def _plan(rng: random.Random, sent_at: dt.datetime, now: dt.datetime) -> dict[str, Any]:
        """When people open an application's links and what the company answers: most are
        opened within days of sending; some of those lead to a response, an interview, an offer;
        some applications hear nothing at all, and a few get a rejection nobody clicked for."""
        plan: dict[str, Any] = {"sent_at": sent_at, "first_person_click": None, "statuses": []}
        if rng.random() < 0.7:
            first = sent_at + dt.timedelta(hours=rng.uniform(2, 96))
            if first < now:
                plan["first_person_click"] = first
                response = first + dt.timedelta(days=rng.uniform(1, 6))
                if response < now and rng.random() < 0.6:
                    if rng.random() < 0.55:
                        plan["statuses"].append((ApplicationStatus.INTERVIEWED, response))
                        offer = response + dt.timedelta(days=rng.uniform(4, 10))
                        if offer < now and rng.random() < 0.35:
                            plan["statuses"].append((ApplicationStatus.OFFERED, offer))
                    else:
                        plan["statuses"].append((ApplicationStatus.REJECTED, response))
        elif rng.random() < 0.25:
            rejected = sent_at + dt.timedelta(days=rng.uniform(3, 10))
            if rejected < now:
                plan["statuses"].append((ApplicationStatus.REJECTED, rejected))
        return plan

    def _generate_clicks(self, rng: random.Random, links: list[dict[str, Any]]) -> int:
        """Clicks only after each application was sent: scanners seconds after, crawlers and
        previews any time, people from the planned first click on (or never)."""
        now = timezone.now()
        clicks: list[LinkClick] = []
        for link in links:
            plan = link.get("demo_plan")
            if plan is None:
                continue  # the seed's own samples
            sent_at = plan["sent_at"]
            first_person = plan["first_person_click"]
            for _ in range(rng.randint(0, 10)):
                if first_person is None or rng.random() < 0.35:
                    agent, method, accept_language, address = rng.choice(AUTOMATED_VISITS)
                    # Mail scanners open a link seconds after it is delivered.
                    if address.startswith("40.107"):
                        when = sent_at + dt.timedelta(seconds=rng.randint(1, 8))
                    else:
                        when = _between(rng, sent_at, now)
                else:
                    agent, method, accept_language = rng.choice(HUMAN_AGENTS), "GET", True
                    address = "203.0.113.{n}"
                    # Most people open a link around the first visit; some come back later.
                    later = first_person + dt.timedelta(days=rng.expovariate(1 / 2))
                    when = min(later, now - dt.timedelta(minutes=1))
                ip = address.format(n=rng.randint(1, 254))
                source = rng.choice(["email", "email", "linkedin"])
                click = services.build_click(
                    tracking_id=link["tracking_id"],
                    clicked_at=when,
                    ip_address=ip,
                    user_agent=agent or None,
                    referrer_url=rng.choice(REFERRERS),
                    session_id=f"sess_{rng.randint(1, 40):04d}",
                    metadata={
                        "utm_source": source,
                        "utm_medium": "application",
                        "utm_campaign": rng.choice(["spring-search", "referrals"]),
                        "demo": True,
                    },
                    http_method=method,
                )
                signals = ClickSignals(
                    user_agent=agent or None,
                    client_ip=ip,
                    has_accept_language=accept_language,
                    link_created_at=sent_at,
                    application_id=link["application_id"],
                )
                classify_into(click, signals)
                geo.locate_click(click, signals)
                clicks.append(click)
        company.mark_clicks(clicks)
        services.insert_clicks(clicks)
        return len(clicks)


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    return start + (end - start) * rng.random()
