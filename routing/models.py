"""Routing's tables: workgroups, agents, customers, interactions, messages.

`routing` knows nothing of Meta or of browsers: a customer is addressed by the
Page id and the PSID the Facebook adapter hands in.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from routing.hours import MAX_AUTOMATIC_TEXT, validate_time_zone


class Skill(models.Model):
    """What an agent can do (a language, a product); a workgroup may require some."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Workgroup(models.Model):
    name = models.CharField(max_length=100, unique=True)
    capacity_per_agent = models.PositiveSmallIntegerField(
        default=4, help_text="Live interactions an agent may hold at once, unless set per agent."
    )
    alert_timeout_seconds = models.PositiveIntegerField(
        default=20, help_text="An offer not picked up within this goes back to the queue."
    )
    auto_record = models.BooleanField(
        default=False, help_text="Record every interaction of this workgroup from its start."
    )
    wrap_up_required = models.BooleanField(
        default=False,
        help_text="Agents pick a wrap-up code before a disconnected interaction leaves their list.",
    )
    after_contact_seconds = models.PositiveIntegerField(
        default=0,
        help_text=(
            "After-contact work: for this long after an interaction ends its agent is offered "
            "nothing new (Done ends it early). 0: off."
        ),
    )
    # Service levels: how soon a waiting customer should have an answer (None: no target).
    first_response_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Target for the first reply, counted from the customer's first message. "
        "Empty: no target.",
    )
    next_response_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Target for each later reply, counted from the customer's oldest message "
        "not yet answered. Empty: no target.",
    )
    default_wrap_up_code = models.ForeignKey(
        "routing.WrapUpCode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Applied when after-contact work runs out with no wrap-up code chosen.",
    )
    # Inactivity (routing/services/inactivity.py). Each timeout empty: off.
    agent_reply_timeout_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "An agent who has not replied this long after a pickup loses the interaction: "
            "it goes back to the queue. Empty: off."
        ),
    )
    agent_reply_warning_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "The agent is warned this long before the interaction goes back. Empty: no warning."
        ),
    )
    customer_silence_timeout_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "A customer silent this long after the agent's last reply is disconnected. Empty: off."
        ),
    )
    customer_silence_warning_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The agent is warned this long before the disconnect. Empty: no warning.",
    )
    customer_silence_wrap_up_code = models.ForeignKey(
        "routing.WrapUpCode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Applied when a silent customer is disconnected.",
    )
    members = models.ManyToManyField("routing.Agent", related_name="workgroups", blank=True)
    required_skills = models.ManyToManyField(
        Skill,
        related_name="required_by",
        blank=True,
        help_text="Only members holding every one of these skills are offered this work.",
    )
    preferred_agent_seconds = models.PositiveIntegerField(
        "preferred agent window",
        null=True,
        blank=True,
        help_text=(
            "Seconds: a returning customer is offered first to the agent who last handled them, "
            "if that agent is Available within this time; then to the queue as usual. "
            "Empty: off."
        ),
    )
    # Business hours (routing/hours.py): the weekly spans and holidays are rows of their own.
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="The business hours and holidays are in this time zone (e.g. Europe/Paris).",
    )
    out_of_hours_message = models.TextField(
        blank=True,
        max_length=MAX_AUTOMATIC_TEXT,
        help_text=(
            "Sent once, automatically, when a customer writes while the workgroup is closed; "
            "{opens} is replaced by the next opening. Empty: nothing is sent. "
            "Out of hours nothing is offered either way: it waits for the opening."
        ),
    )
    acknowledgement_message = models.TextField(
        blank=True,
        max_length=MAX_AUTOMATIC_TEXT,
        help_text=(
            "Sent once, automatically, when a new interaction arrives within business hours; "
            "{position} is replaced by its place in the queue. Empty: nothing is sent."
        ),
    )
    feedback_survey = models.BooleanField(
        default=False,
        help_text=(
            "Send Messenger's customer feedback survey (satisfaction 1-5 and a comment) "
            "after an agent disconnects."
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class BusinessHours(models.Model):
    """One opening span of a weekday, in the workgroup's time zone.

    A workgroup with none is always open (holidays aside); a day may have several spans.
    """

    workgroup = models.ForeignKey(
        Workgroup, on_delete=models.CASCADE, related_name="business_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="Must be after the opening; 23:59 for the end of the day.")

    class Meta:
        ordering = ["workgroup", "weekday", "opens"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")), name="business_hours_close_after_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    """A day the workgroup stays closed all day, whatever its weekly hours say."""

    workgroup = models.ForeignKey(Workgroup, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["workgroup", "date"]
        constraints = [
            models.UniqueConstraint(fields=["workgroup", "date"], name="holiday_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()


class WrapUpCode(models.Model):
    workgroup = models.ForeignKey(Workgroup, on_delete=models.CASCADE, related_name="wrap_up_codes")
    label = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["workgroup__name", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["workgroup", "label"], name="wrap_up_label_per_workgroup"
            )
        ]

    def __str__(self) -> str:
        return self.label


class AgentStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    DO_NOT_DISTURB = "dnd", "Do Not Disturb"
    AT_LUNCH = "lunch", "At Lunch"
    GONE_HOME = "gone_home", "Gone Home"
    NOT_ANSWERING = "not_answering", "Not answering"


class Agent(models.Model):
    """The routing side of a user: status, capacity and idle time."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    status = models.CharField(
        max_length=20, choices=AgentStatus.choices, default=AgentStatus.AVAILABLE
    )
    status_changed_at = models.DateTimeField(auto_now_add=True)
    capacity = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Overrides the workgroup's capacity when set."
    )
    # The ACD offers to the longest-idle agent: the one whose last offer or
    # last finished interaction is oldest.
    idle_since = models.DateTimeField(auto_now_add=True)
    # My Interactions in order of service-level time left (the agent's choice), else arrival.
    list_by_time_left = models.BooleanField(default=False)
    skills = models.ManyToManyField(Skill, related_name="agents", blank=True)
    # Their last desktop tab closed without their leaving (a reload closes the old
    # tab before the new one opens): their ringing offers wait for a tab until then.
    offers_kept_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class DesktopConnection(models.Model):
    """One open desktop tab (websocket). An agent with none is not offered work."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="connections")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    # Refreshed by the server process holding the socket; a crashed process's
    # rows go stale and the timer sweep removes them.
    last_seen = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.agent} on {self.channel_name}"


class Channel(models.TextChoices):
    """Where a customer reaches the Page: each has its own icon, limits and reply rules."""

    MESSENGER = "messenger", "Facebook DM"
    INSTAGRAM = "instagram", "Instagram DM"
    COMMENT = "comment", "Page comment"


class Customer(models.Model):
    # The Facebook Page the customer reaches (an Instagram account's linked Page).
    page_id = models.CharField(max_length=64)
    # Messenger: the PSID; Instagram: the Instagram-scoped id; a comment: the commenter's id.
    psid = models.CharField("PSID", max_length=64)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.MESSENGER)
    # Instagram's @handle (Messenger has none).
    username = models.CharField(max_length=100, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    profile_pic = models.URLField(max_length=1000, blank=True)
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    # The reply window is counted from the customer's last message.
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Conversation routing: another app (a bot, the Page inbox) controls the thread
    # when set; our replies are refused (2018300) until an agent takes it over.
    thread_owner_app_id = models.CharField(
        "Thread controlled by app", max_length=64, blank=True, default=""
    )
    thread_owner_since = models.DateTimeField(null=True, blank=True)
    # How the customer last came to the conversation (an m.me link's ref, an ad):
    # source, type, ref, ad_id, ad_title, photo_url, post_id, at.
    referral = models.JSONField(default=dict, blank=True)
    # Their first message after clicking an ad: the standard window may last 7 days from it.
    ad_window_from = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page_id", "psid"], name="customer_unique_per_page")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        if name:
            return name
        if self.username:
            return f"@{self.username}"
        if self.channel == Channel.INSTAGRAM:
            return f"Instagram user {self.psid[-4:]}"
        return f"Facebook user {self.psid[-4:]}"


class InteractionState(models.TextChoices):
    QUEUED = "queued", "Queued"
    ALERTING = "alerting", "Alerting"
    CONNECTED = "connected", "Connected"
    HELD = "held", "Held"
    DISCONNECTED = "disconnected", "Disconnected"


LIVE_STATES = (
    InteractionState.QUEUED,
    InteractionState.ALERTING,
    InteractionState.CONNECTED,
    InteractionState.HELD,
)


class Interaction(models.Model):
    workgroup = models.ForeignKey(Workgroup, on_delete=models.PROTECT, related_name="interactions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="interactions")
    state = models.CharField(
        max_length=20, choices=InteractionState.choices, default=InteractionState.QUEUED
    )
    # The agent it is offered to (alerting) or who owns it (connected, held,
    # and after disconnect until dismissed).
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    recording = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    alert_deadline = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    # The agent pressed Ask for help; cleared once a supervisor answers or it ends.
    help_requested_at = models.DateTimeField(null=True, blank=True)
    # After-contact work: its agent is offered nothing new until then (or Done).
    after_contact_until = models.DateTimeField(null=True, blank=True)
    after_contact_ended_at = models.DateTimeField(null=True, blank=True)
    # Inactivity clocks, only while connected (routing/services/inactivity.py):
    # the agent must reply by `reply_due_at` (set by a pickup), the customer
    # must write by `silence_due_at` (set by the agent's reply). The warned
    # times say a warning was given for the clock running now.
    reply_due_at = models.DateTimeField(null=True, blank=True)
    reply_warned_at = models.DateTimeField(null=True, blank=True)
    silence_due_at = models.DateTimeField(null=True, blank=True)
    silence_warned_at = models.DateTimeField(null=True, blank=True)
    # The last agent who let it go back to the queue without replying in time.
    lapsed_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Customer messages after this are unread for the owning agent.
    agent_read_at = models.DateTimeField(null=True, blank=True)
    # Service-level clocks: the customer's oldest message not yet answered
    # (None: nobody waits for a reply), and the first reply they were given.
    customer_waiting_since = models.DateTimeField(null=True, blank=True)
    first_replied_at = models.DateTimeField(null=True, blank=True)
    wrap_up_code = models.ForeignKey(
        WrapUpCode, null=True, blank=True, on_delete=models.PROTECT, related_name="interactions"
    )
    # Higher is offered sooner; set on arrival by the priority rules.
    priority = models.PositiveSmallIntegerField(default=0)
    # A returning customer waits for the agent who last handled them until
    # `preferred_until` (the workgroup's preferred agent window), then for anyone.
    preferred_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    preferred_until = models.DateTimeField(null=True, blank=True)
    # Automatic messages, each at most once per interaction: set by a conditional
    # UPDATE (only where still empty) in the transaction that stores the message.
    out_of_hours_reply_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    feedback_requested_at = models.DateTimeField(null=True, blank=True)
    # The customer's answer to the feedback survey (Messenger's CSAT, 1 to 5).
    csat_score = models.PositiveSmallIntegerField(null=True, blank=True)
    csat_comment = models.TextField(blank=True)
    csat_at = models.DateTimeField(null=True, blank=True)
    # A DM that answers a private reply continues that comment's interaction.
    follows = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="followed_by"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(csat_score__isnull=True) | Q(csat_score__gte=1, csat_score__lte=5),
                name="csat_score_one_to_five",
            ),
            # A customer has at most one live interaction: two webhooks racing
            # to open one for the same customer cannot both win.
            models.UniqueConstraint(
                fields=["customer"],
                condition=~Q(state="disconnected"),
                name="one_live_interaction_per_customer",
            ),
        ]
        indexes = [
            # The ACD's order: priority first, then arrival.
            models.Index(fields=["workgroup", "state", "-priority", "queued_at"]),
            models.Index(fields=["state", "preferred_until"]),
            models.Index(fields=["agent", "state"]),
            models.Index(fields=["state", "alert_deadline"]),
            # Whose after-contact work is still running: every offer pass asks it
            # of each member. Without it, a plan made on a young table's stale
            # statistics scanned every interaction once per member.
            models.Index(
                fields=["agent"],
                condition=Q(after_contact_ended_at__isnull=True, after_contact_until__isnull=False),
                name="agent_in_after_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer} ({self.state})"


class PriorityMatch(models.TextChoices):
    PAGE = "page", "Every conversation on the Page"
    PAYLOAD = "payload", "A button or quick reply with this payload"
    KEYWORD = "keyword", "A word or phrase in the customer's text"


class PriorityRule(models.Model):
    """Raises the priority of a new interaction: the highest matching rule wins."""

    page_id = models.CharField(
        "Page id", max_length=64, blank=True, help_text="Empty: conversations on every Page."
    )
    match = models.CharField(max_length=20, choices=PriorityMatch.choices)
    value = models.CharField(
        max_length=200,
        blank=True,
        help_text="The payload (exactly) or the keyword (a whole word, any case). "
        "Empty for a Page's default.",
    )
    priority = models.PositiveSmallIntegerField(help_text="Higher is offered sooner; 0 is normal.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-priority", "match", "value"]

    def __str__(self) -> str:
        where = f" on {self.page_id}" if self.page_id else ""
        what = f" {self.value!r}" if self.value else ""
        return f"{self.get_match_display()}{what}{where} → {self.priority}"

    def clean(self) -> None:
        self.page_id, self.value = self.page_id.strip(), self.value.strip()
        if self.page_id and not self.page_id.isdigit():
            raise ValidationError({"page_id": "A Page id is digits only, as Meta gives it."})
        if self.match == PriorityMatch.PAGE and not self.page_id:
            raise ValidationError({"page_id": "A Page's default priority needs the Page id."})
        if self.match != PriorityMatch.PAGE and not self.value:
            raise ValidationError({"value": "Give the payload or the keyword to match."})


class InteractionEvent(models.Model):
    """One row per change to an interaction: who did what, when, from which state."""

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    verb = models.CharField(max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.verb} {self.from_state}→{self.to_state}"


class MessageDirection(models.TextChoices):
    INBOUND = "in", "From the customer"
    OUTBOUND = "out", "To the customer"


class MessageStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    TIMED_OUT = "timed_out", "Not sent in time"
    FAILED = "failed", "Failed"
    DUPLICATE = "duplicate", "Held back as a duplicate"


class Message(models.Model):
    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=MessageDirection.choices)
    text = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=MessageStatus.choices)
    # Meta's message id; unique so a redelivered webhook cannot store twice.
    mid = models.CharField(max_length=200, null=True, blank=True, unique=True)
    # Our own id for an outgoing message; travels in `metadata` and comes back
    # in the echo.
    client_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # When it was written: Meta's event timestamp inbound, our clock outbound.
    sent_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    send_deadline = models.DateTimeField(null=True, blank=True)
    messaging_type = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The Meta mid this message replies to (quoted in the bubble).
    reply_to_mid = models.CharField(max_length=200, blank=True)
    # The customer's current reaction to this message ("" when none).
    reaction = models.CharField(max_length=32, blank=True)
    # Sent by the workgroup's settings, not by a person (out-of-hours reply,
    # acknowledgement, feedback survey): always RESPONSE, never tagged.
    automatic = models.BooleanField(default=False)

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [
            models.Index(fields=["interaction", "sent_at"]),
            models.Index(fields=["status", "send_deadline"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: {self.text[:40]}"

    is_note = False

    @property
    def is_outbound(self) -> bool:
        return self.direction == MessageDirection.OUTBOUND


class PageComment(models.Model):
    """A comment on one of the Page's posts, routed as an interaction of its own.

    The comment is also the interaction's inbound message (its `mid` is the
    comment id). The Page may answer it with one private reply, in Messenger,
    within 7 days; Meta's answer names the person's PSID, which links the
    Messenger conversation that follows to this interaction.
    """

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="comments")
    comment_id = models.CharField(max_length=200, unique=True)
    post_id = models.CharField(max_length=200)
    post_url = models.URLField(max_length=1000, blank=True)
    text = models.TextField(blank=True)
    commented_at = models.DateTimeField()
    # The PSID Meta answered the private reply with: their Messenger messages follow it.
    reply_psid = models.CharField("PSID of the private reply", max_length=64, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["commented_at", "id"]
        indexes = [models.Index(fields=["reply_psid"])]

    def __str__(self) -> str:
        return f"Comment {self.comment_id} on {self.post_id}"


class Note(models.Model):
    """An internal note on an interaction: for agents and supervisors, never for the customer.

    A table of its own, not a kind of Message: nothing that sends messages to
    Meta ever reads it.
    """

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    text = models.TextField()
    written_at = models.DateTimeField()
    # Agents named with @username in the text: each is told on their desktop.
    mentioned = models.ManyToManyField("routing.Agent", related_name="mentioned_in", blank=True)

    class Meta:
        ordering = ["written_at", "id"]
        indexes = [models.Index(fields=["interaction", "written_at"])]

    is_note = True

    def __str__(self) -> str:
        return f"Note: {self.text[:40]}"

    @property
    def author_name(self) -> str:
        if self.author is None:
            return "A former colleague"
        return self.author.get_full_name() or self.author.get_username()


class Recording(models.Model):
    """A recorded span of an interaction: its messages and events, kept as they were."""

    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="recordings"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Filled when the recording stops: one line per message or event in the span.
    transcript = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Recording of #{self.interaction_id} from {self.started_at:%Y-%m-%d %H:%M}"


class ResponseLibrary(models.Model):
    """A set of stored responses: shared (no owner, kept by supervisors) or an agent's own."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="response_libraries",
        help_text="Empty for a shared library; an agent for their own My Responses.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "response libraries"
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="library_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class ResponseCategory(models.Model):
    library = models.ForeignKey(
        ResponseLibrary, on_delete=models.CASCADE, related_name="categories"
    )
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "response categories"
        constraints = [
            models.UniqueConstraint(fields=["library", "name"], name="category_name_per_library")
        ]

    def __str__(self) -> str:
        return self.name


class StoredResponse(models.Model):
    category = models.ForeignKey(
        ResponseCategory, on_delete=models.CASCADE, related_name="responses"
    )
    name = models.CharField(max_length=100)
    shortcut = models.SlugField(
        max_length=40, blank=True, help_text="Typed as /shortcut in the composer."
    )
    labels = models.CharField(max_length=200, blank=True, help_text="Comma separated.")
    text = models.TextField(
        help_text="Macros: {customer.first_name}, {agent.first_name}, {page.name}."
    )
    # Sent with the text when an agent inserts the response (the composer attaches it).
    file = models.FileField(
        upload_to="responses/%Y/%m/",
        blank=True,
        max_length=300,
        help_text="Optional: a file sent with the text (25 MB at most, no programs or scripts).",
    )

    class Meta:
        ordering = ["category__name", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def file_name(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""


class FavouriteResponse(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_responses"
    )
    response = models.ForeignKey(
        StoredResponse, on_delete=models.CASCADE, related_name="favourited_by"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "response"], name="favourite_once")]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.response}"
