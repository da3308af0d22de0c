"""The demo of docs/contract.md: one Page, one workgroup, three agents, a supervisor."""

from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from facebook import pages
from facebook.models import FacebookPage, InstagramAccount
from routing.models import (
    Agent,
    AgentStatus,
    PriorityMatch,
    PriorityRule,
    ResponseCategory,
    ResponseLibrary,
    Skill,
    StoredResponse,
    Workgroup,
    WrapUpCode,
)

DEMO_PASSWORD = "demo-pass"
DEMO_OUT_OF_HOURS = (
    "Thanks for your message! We are closed right now and open again {opens}: "
    "an agent will answer you then."
)
AGENTS = [("agent1", "Alice", "Agent"), ("agent2", "Bob", "Agent"), ("agent3", "Carol", "Agent")]
# category -> (name, shortcut, labels, text)
STORED_RESPONSES = {
    "Greetings": [
        (
            "Welcome",
            "hi",
            "greeting, opening",
            "Hi {customer.first_name}, thanks for writing to {page.name}! "
            "I'm {agent.first_name} and I'll help you today.",
        ),
        (
            "One moment",
            "wait",
            "hold, checking",
            "Thanks for your patience, {customer.first_name}. I'm checking this for you now.",
        ),
        (
            "Goodbye",
            "bye",
            "closing",
            "Thanks for contacting {page.name}. Have a great day!",
        ),
    ],
    "Orders": [
        (
            "Order number",
            "order",
            "orders, lookup",
            "Could you send me your order number, please?",
        ),
        (
            "Shipping delay",
            "delay",
            "shipping, late, apology",
            "I'm sorry for the delay. Let me check the shipment for you.",
        ),
        (
            "Refund policy",
            "refund",
            "returns, money back",
            "You can return any item within 30 days; the refund reaches your card "
            "within 5 working days of us receiving it.",
        ),
        (
            "Change address",
            "address",
            "shipping, delivery address",
            "I can change the delivery address until the parcel ships. "
            "What is the new address, {customer.first_name}?",
        ),
    ],
}


WRAP_UP_CODES = ["Resolved", "Order status given", "Escalated", "No answer needed"]

# Skills each demo agent holds (no demo workgroup requires one: every agent
# keeps getting the demo's work) and the demo's priority rules.
AGENT_SKILLS = {"agent1": ["English"], "agent2": ["English", "Spanish"], "agent3": ["English"]}
PRIORITY_RULES = [
    (PriorityMatch.KEYWORD, "urgent", 5),
    (PriorityMatch.PAYLOAD, "TALK_TO_SALES", 3),
]


DEMO_INSTAGRAM_ACCOUNT_ID = "17841400000000001"


class Command(BaseCommand):
    help = (
        "Create or refresh the demo Page, workgroup, agents and stored responses. "
        "It makes a superuser with a published password: with DEBUG off it refuses "
        "unless given --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off (a test or demo server, never production).",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo makes a superuser whose password is in the README, and DEBUG is "
                "off: this looks like production. Run it with --force on a test server only."
            )
        self.seed()
        self.stdout.write(self.style.SUCCESS("Demo data ready: log in as agent1 / demo-pass."))

    @transaction.atomic
    def seed(self) -> None:
        User = get_user_model()
        workgroup, _ = Workgroup.objects.update_or_create(
            name="Facebook DM",
            defaults={
                "capacity_per_agent": 4,
                "alert_timeout_seconds": 20,
                # Short enough that a demo shows the clocks turning amber and red.
                "first_response_seconds": 120,
                "next_response_seconds": 90,
                # No business hours: always open until a supervisor sets some in the admin.
                "out_of_hours_message": DEMO_OUT_OF_HOURS,
                "feedback_survey": True,
            },
        )
        page = FacebookPage.objects.filter(page_id="100000000000001").first() or FacebookPage(
            page_id="100000000000001"
        )
        page.name, page.workgroup = "Acme Support", workgroup
        page.personas_enabled = True  # replies show "Alice from Acme Support"
        pages.save_page(page, new_token="demo-page-token")
        # Its Instagram account: Instagram messages go to the same workgroup.
        InstagramAccount.objects.update_or_create(
            account_id=DEMO_INSTAGRAM_ACCOUNT_ID,
            defaults={"page": page, "username": "acmesupport", "workgroup": None},
        )
        for username, first, last in AGENTS:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "is_staff": False},
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            agent, _ = Agent.objects.update_or_create(
                user=user, defaults={"status": AgentStatus.AVAILABLE}
            )
            workgroup.members.add(agent)
            agent.skills.add(
                *(Skill.objects.get_or_create(name=name)[0] for name in AGENT_SKILLS[username])
            )
        supervisor, _ = User.objects.update_or_create(
            username="supervisor",
            defaults={
                "first_name": "Sam",
                "last_name": "Supervisor",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        supervisor.set_password(DEMO_PASSWORD)
        supervisor.save()
        # The group the migration made, refreshed by the migration's own code
        # so its permissions are defined once.
        group_migration = import_module("routing.migrations.0002_supervisor_group")
        unlock_migration = import_module("routing.migrations.0003_supervisors_unlock_logins")
        supervisor.groups.add(group_migration.ensure_supervisors_group(apps))
        unlock_migration.ensure_supervisors_can_unlock(apps)
        import_module(
            "facebook.migrations.0006_messenger_personas"
        ).ensure_supervisors_see_personas(apps)
        import_module(
            "routing.migrations.0012_priority_skills_preferred_agent"
        ).ensure_supervisors_set_skills_and_priorities(apps)
        for match, value, priority in PRIORITY_RULES:
            PriorityRule.objects.update_or_create(
                match=match, value=value, page_id="", defaults={"priority": priority}
            )
        import_module("routing.migrations.0013_business_hours_csat").ensure_supervisors_keep_hours(
            apps
        )
        import_module(
            "facebook.migrations.0009_instagram_accounts_and_comments"
        ).ensure_supervisors_link_instagram(apps)
        for label in WRAP_UP_CODES:
            WrapUpCode.objects.get_or_create(workgroup=workgroup, label=label)
        # Inactivity: a customer who leaves the chat is let go after 15 minutes (a warning
        # two minutes before). The agent's reply timeout stays off in the demo.
        workgroup.customer_silence_timeout_seconds = 15 * 60
        workgroup.customer_silence_warning_seconds = 2 * 60
        workgroup.customer_silence_wrap_up_code = WrapUpCode.objects.get(
            workgroup=workgroup, label="No answer needed"
        )
        workgroup.save(
            update_fields=[
                "customer_silence_timeout_seconds",
                "customer_silence_warning_seconds",
                "customer_silence_wrap_up_code",
            ]
        )
        library, _ = ResponseLibrary.objects.get_or_create(name="Acme Support", owner=None)
        for category_name, responses in STORED_RESPONSES.items():
            category, _ = ResponseCategory.objects.get_or_create(
                library=library, name=category_name
            )
            for name, shortcut, labels, text in responses:
                StoredResponse.objects.update_or_create(
                    category=category,
                    name=name,
                    defaults={"shortcut": shortcut, "labels": labels, "text": text},
                )
