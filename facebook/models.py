from django.db import models

from facebook.token_crypto import EncryptedTokenField
from routing.models import Agent, Workgroup


class Subscription(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class FacebookPage(models.Model):
    page_id = models.CharField("Page id", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Encrypted at rest (PAGE_TOKEN_KEYS); changed only through facebook.pages.save_page.
    access_token = EncryptedTokenField(help_text="The Page access token; never shown back in full.")
    workgroup = models.ForeignKey(Workgroup, on_delete=models.PROTECT, related_name="pages")
    token_invalid = models.BooleanField(
        default=False, help_text="Set when Meta refused the token (code 190); cleared on a new one."
    )
    personas_enabled = models.BooleanField(
        "Show who is answering",
        default=True,
        help_text=(
            "Replies and typing go out under the agent's Messenger persona (their first "
            "name and picture), so the customer sees e.g. “Alice from Acme Support”."
        ),
    )

    primary_app_id = models.CharField(
        "Primary app id",
        max_length=64,
        blank=True,
        help_text=(
            "Conversation routing: the app (a bot) a conversation goes back to when an agent "
            "disconnects it (pass_thread_control). Empty: control is not passed on."
        ),
    )
    # Health (facebook.health): what Meta last told us, and when.
    last_event_at = models.DateTimeField(
        "Last webhook event", null=True, blank=True, help_text="When Meta last posted an event."
    )
    last_graph_ok_at = models.DateTimeField(
        "Last Graph API success", null=True, blank=True, help_text="Our last call Meta accepted."
    )
    subscription = models.CharField(
        max_length=20, choices=Subscription.choices, default=Subscription.UNKNOWN
    )
    health_checked_at = models.DateTimeField(null=True, blank=True)
    usual_silence_minutes = models.PositiveIntegerField(
        "Usual silence (minutes)",
        default=120,
        help_text="No event for longer than this shows the Page as silent on the board.",
    )
    # messaging_policy_enforcement: the last warning or block Meta sent ("" after unblock).
    policy_action = models.CharField(max_length=10, blank=True)
    policy_reason = models.TextField(blank=True)
    policy_at = models.DateTimeField(null=True, blank=True)
    human_agent_status = models.CharField(
        "Human Agent feature",
        max_length=20,
        blank=True,
        help_text="Meta's review of the Human Agent feature (GET /me/messaging_feature_review).",
    )
    # Send API rate limit (codes 4, 32, 613): no send for this Page before this.
    send_paused_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "Facebook Page"

    def __str__(self) -> str:
        return f"{self.name} ({self.page_id})"

    @property
    def masked_token(self) -> str:
        token = self.access_token or ""
        if len(token) <= 8:
            return "•" * len(token)
        return f"{token[:4]}…{token[-4:]}"


class InstagramAccount(models.Model):
    """An Instagram professional account linked to a Page: its messages come through that Page.

    Meta posts them with `object: "instagram"` and the account's id as
    `entry[].id`; replies go out with the Page's token. They are routed to the
    account's own workgroup when set, else to the Page's.
    """

    account_id = models.CharField("Instagram account id", max_length=64, unique=True)
    page = models.ForeignKey(
        FacebookPage, on_delete=models.CASCADE, related_name="instagram_accounts"
    )
    username = models.CharField(max_length=100, blank=True)
    workgroup = models.ForeignKey(
        Workgroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="instagram_accounts",
        help_text="Leave empty to route to the Page's workgroup.",
    )

    class Meta:
        ordering = ["account_id"]
        verbose_name = "Instagram account"

    def __str__(self) -> str:
        return f"@{self.username} ({self.account_id})" if self.username else self.account_id

    @property
    def workgroup_id_to_route(self) -> int:
        return self.workgroup_id or self.page.workgroup_id


class MessengerPersona(models.Model):
    """An agent's Messenger persona on one Page, created on first use and kept.

    Written only by `facebook.personas`. A failed creation leaves the row
    without `persona_id` and with the error, shown in admin, and is tried
    again on a later reply.
    """

    page = models.ForeignKey(FacebookPage, on_delete=models.CASCADE, related_name="personas")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="personas")
    persona_id = models.CharField("Persona id", max_length=64, blank=True)
    # What the persona was created with: a change makes a new one.
    name = models.CharField(max_length=200, blank=True)
    picture_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    # One creation at a time across processes: a claim that ends by itself.
    creating_until = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["page", "agent"]
        verbose_name = "Messenger persona"
        constraints = [
            models.UniqueConstraint(fields=["page", "agent"], name="one_persona_per_page_agent")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.agent} on {self.page}"


class WebhookVerdict(models.TextChoices):
    PENDING = "pending", "Stored, waiting to be routed"
    PROCESSED = "processed", "Processed"
    NOT_PAGE = "not_page", "Not a Page object"
    UNKNOWN_PAGE = "unknown_page", "Unknown Page"
    PARTLY_IGNORED = "partly_ignored", "Processed, some events ignored"
    ERROR = "error", "Could not be handled (given up)"


class WebhookDelivery(models.Model):
    """Every signed body Meta posted: stored before the answer, routed after it.

    A body is stored `pending` by the webhook and routed off the request by
    `facebook.ingest`, which sets its verdict in the same transaction as the
    rows routing wrote, so it is routed exactly once. A body whose routing
    keeps failing is retried a few times, then given up with its reason.
    """

    received_at = models.DateTimeField(auto_now_add=True)
    body = models.TextField()
    verdict = models.CharField(max_length=20, choices=WebhookVerdict.choices)
    event_count = models.PositiveIntegerField(default=0)
    detail = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Routing attempts that failed (a bug, the database gone)."
    )
    retry_at = models.DateTimeField(
        null=True, blank=True, help_text="A failed body is not routed again before this."
    )
    routed_at = models.DateTimeField(null=True, blank=True)
    # The conversation's lane (a hash of its entry and person): routers route
    # different lanes side by side, each lane in order; 0 is a barrier, for a
    # body that touches several conversations or none (facebook.ingest).
    lane = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The router's claim: pending bodies in arrival order, nothing else.
            models.Index(
                fields=["id"],
                condition=models.Q(verdict="pending"),
                name="webhook_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.verdict}"


class FakeGraphCall(models.Model):
    """A call the built-in fake Graph API received (simulator and tests only)."""

    at = models.DateTimeField(auto_now_add=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    page_id = models.CharField(max_length=64, blank=True)
    recipient_psid = models.CharField(max_length=64, blank=True)
    body = models.JSONField(default=dict)
    answer_status = models.PositiveSmallIntegerField()
    answer = models.JSONField(default=dict)
    message_id = models.CharField(max_length=100, blank=True)
    # The persona a send or sender action went out under, or the one a
    # persona creation made.
    persona_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.answer_status}"


class FakeThreadOwner(models.Model):
    """Which app controls a conversation, as the fake Graph API keeps it (conversation routing).

    No row: the thread is idle, and any app may send.
    """

    page_id = models.CharField(max_length=64)
    psid = models.CharField("PSID", max_length=64)
    owner_app_id = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page_id", "psid"], name="fake_one_thread_owner")
        ]

    def __str__(self) -> str:
        return f"{self.psid} on {self.page_id}: app {self.owner_app_id}"


class FakeGraphMode(models.Model):
    """The fake Graph API's current behaviour, switched from the simulator."""

    mode = models.CharField(max_length=30, default="ok")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.mode


class FakeProfile(models.Model):
    """The name a simulator user chose; the fake Graph API answers it for their PSID."""

    psid = models.CharField("PSID", max_length=64, unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    # An Instagram user (their id is Instagram-scoped): the fake echoes replies as Instagram does.
    instagram = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class FakeComment(models.Model):
    """A comment a simulator user posted: the fake Graph API answers its private reply
    with the commenter's PSID, as Meta does."""

    comment_id = models.CharField(max_length=200, unique=True)
    page_id = models.CharField(max_length=64)
    psid = models.CharField("PSID", max_length=64)
    posted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.comment_id


class UploadedAttachment(models.Model):
    """A file uploaded to Meta as a Page's reusable attachment: sent again by its id.

    Keyed by the file's SHA-256, so the same file (a stored response's, or one
    sent again) is uploaded once per Page.
    """

    page_id = models.CharField("Page id", max_length=64)
    sha256 = models.CharField("SHA-256", max_length=64)
    kind = models.CharField(max_length=10)  # image | video | audio | file
    attachment_id = models.CharField(max_length=100)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["page_id", "sha256", "kind"], name="one_upload_per_page_and_file"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sha256[:12]} on {self.page_id}"


class DeferredSend(models.Model):
    """A reply Meta's rate limit held back: the sender sends it again at `due_at`.

    The message stays `sending` meanwhile (its deadline moved past `due_at`);
    sends to the same customer go out in message order behind it.
    """

    message_id = models.BigIntegerField(unique=True)
    page_id = models.CharField("Page id", max_length=64)
    psid = models.CharField("PSID", max_length=64)
    due_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=1)
    error_code = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["due_at", "message_id"]

    def __str__(self) -> str:
        return f"message {self.message_id} at {self.due_at:%H:%M:%S}"


class FakeThreadMessage(models.Model):
    """A message of a Page's conversation as the fake Graph API keeps it, delivered
    to our webhook or not: the Conversations API serves them (backfill)."""

    page_id = models.CharField(max_length=64)
    psid = models.CharField(max_length=64)
    mid = models.CharField(max_length=200, unique=True)
    text = models.TextField(blank=True)
    from_page = models.BooleanField(default=False)
    timestamp_ms = models.BigIntegerField()

    class Meta:
        ordering = ["timestamp_ms", "id"]
        indexes = [models.Index(fields=["page_id", "psid"], name="fake_thread_idx")]

    def __str__(self) -> str:
        return f"{self.mid} ({self.page_id}/{self.psid})"


class FakePageState(models.Model):
    """What the fake Meta knows of a Page besides its calls: our app's subscription,
    whether it can reach our webhook, the Human Agent review."""

    page_id = models.CharField(max_length=64, unique=True)
    subscribed_fields = models.JSONField(default=list)
    webhook_down = models.BooleanField(default=False)
    human_agent_status = models.CharField(max_length=20, default="approved")

    def __str__(self) -> str:
        return self.page_id
