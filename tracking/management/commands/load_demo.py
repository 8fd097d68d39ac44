"""Load demo data: the seed's sample records plus a few weeks of generated job-search activity."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from tracking import services
from tracking.models import ApplicationStatus, Job, JobApplication, LinkClick, TrackedLink

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
HUMAN_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
]
AUTOMATED_AGENTS = [
    (
        "preview",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    ),
    ("bot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("scanner", ""),
]
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
        with transaction.atomic():
            links = self._load_seed_samples()
            links += self._load_generated(rng)
            clicks = self._generate_clicks(rng, links)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {Job.objects.count()} jobs, {JobApplication.objects.count()} "
                f"applications, {len(links)} links, {clicks} clicks."
            )
        )

    def _load_seed_samples(self) -> list[dict[str, Any]]:
        job, _ = Job.objects.get_or_create(
            id=SEED_JOB_ID,
            defaults={
                "title": "Marketing Manager",
                "company_name": "Example Corp",
                "posting_url": "https://careers.example.com/jobs/marketing-manager",
            },
        )
        JobApplication.objects.get_or_create(
            id=SEED_APPLICATION_ID,
            defaults={
                "job": job,
                "status": ApplicationStatus.SUBMITTED,
                "submitted_at": timezone.now(),
            },
        )
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
        services.store_clicks(
            [
                services.build_click(
                    tracking_id=tid,
                    clicked_at=when,
                    ip_address=ip,
                    user_agent=ua,
                    referrer_url=ref,
                    session_id=sess,
                    click_source=src,
                    metadata=meta,
                )
                for tid, when, ip, ua, ref, sess, src, meta in samples
            ]
        )
        return links

    def _load_generated(self, rng: random.Random) -> list[dict[str, Any]]:
        links = []
        statuses = list(ApplicationStatus.values)
        for title, company, posting_url in DEMO_JOBS:
            job = Job.objects.create(title=title, company_name=company, posting_url=posting_url)
            for _ in range(rng.randint(1, 2)):
                application = JobApplication.objects.create(
                    job=job,
                    status=rng.choice(statuses),
                    submitted_at=timezone.now() - dt.timedelta(days=rng.randint(5, 30)),
                    contact_name=rng.choice(["Dana Recruiter", "Sam Hiring", "Alex Talent"]),
                )
                for function, (link_type, url) in PROFILE_URLS.items():
                    links.append(
                        services.create_tracked_link(
                            original_url=url,
                            link_function=function,
                            link_type=link_type,
                            job_id=job.id,
                            application_id=application.id,
                            created_by="demo",
                        )
                    )
                links.append(
                    services.create_tracked_link(
                        original_url=posting_url,
                        link_function="Job_Posting",
                        link_type="job_posting",
                        job_id=job.id,
                        application_id=application.id,
                        created_by="demo",
                    )
                )
        return links

    def _generate_clicks(self, rng: random.Random, links: list[dict[str, Any]]) -> int:
        now = timezone.now()
        clicks: list[LinkClick] = []
        for link in links:
            for _ in range(rng.randint(0, 12)):
                when = now - dt.timedelta(minutes=rng.randint(10, 30 * 24 * 60))
                automated = rng.random() < 0.3
                if automated:
                    kind, agent = rng.choice(AUTOMATED_AGENTS)
                else:
                    kind, agent = "human", rng.choice(HUMAN_AGENTS)
                click = services.build_click(
                    tracking_id=link["tracking_id"],
                    clicked_at=when,
                    ip_address=f"203.0.113.{rng.randint(1, 254)}",
                    user_agent=agent or None,
                    referrer_url=rng.choice(REFERRERS),
                    session_id=f"sess_{rng.randint(1, 40):04d}",
                    metadata={"utm_source": "email", "demo": True},
                    http_method="HEAD" if kind == "scanner" else "GET",
                )
                click.classification = kind
                click.classification_reasons = [] if kind == "human" else [f"demo:{kind}"]
                clicks.append(click)
        services.store_clicks(clicks)
        return len(clicks)
