"""The emoji the composer offers: a short, hand-picked list of what support
conversations use, with the Unicode (CLDR) short name of each and a few other
words it is searched by. Small on purpose: no emoji library, no CDN."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Emoji:
    char: str
    name: str
    also: tuple[str, ...] = ()

    @property
    def shortcode(self) -> str:
        """What `:shortcode:` in the message box stands for: the name, words joined by _."""
        return self.name.replace(" ", "_").replace("-", "_")

    @property
    def search_words(self) -> str:
        return " ".join((self.name, self.shortcode, *self.also)).lower()


@dataclass(frozen=True)
class EmojiCategory:
    slug: str
    name: str
    emoji: tuple[Emoji, ...]


CATEGORIES: tuple[EmojiCategory, ...] = (
    EmojiCategory(
        "smileys",
        "Smileys",
        (
            Emoji("😀", "grinning face", ("smile", "happy")),
            Emoji("😃", "grinning face with big eyes", ("smiley", "happy")),
            Emoji("😄", "grinning face with smiling eyes", ("smile", "happy")),
            Emoji("😁", "beaming face with smiling eyes", ("grin",)),
            Emoji("😅", "grinning face with sweat", ("phew", "relief")),
            Emoji("😂", "face with tears of joy", ("laugh", "lol", "joy")),
            Emoji("🙂", "slightly smiling face", ("smile",)),
            Emoji("😉", "winking face", ("wink",)),
            Emoji("😊", "smiling face with smiling eyes", ("blush", "happy")),
            Emoji("😍", "smiling face with heart-eyes", ("love",)),
            Emoji("🥰", "smiling face with hearts", ("love",)),
            Emoji("😎", "smiling face with sunglasses", ("cool",)),
            Emoji("🤗", "smiling face with open hands", ("hug",)),
            Emoji("🤔", "thinking face", ("hmm", "think")),
            Emoji("😐", "neutral face", ("meh",)),
            Emoji("🙄", "face with rolling eyes", ("eyeroll",)),
            Emoji("😮", "face with open mouth", ("wow", "surprised")),
            Emoji("😴", "sleeping face", ("tired", "zzz")),
            Emoji("😕", "confused face", ("confused",)),
            Emoji("🙁", "slightly frowning face", ("sad",)),
            Emoji("😢", "crying face", ("sad", "tear")),
            Emoji("😭", "loudly crying face", ("sob", "sad")),
            Emoji("😬", "grimacing face", ("awkward", "oops")),
            Emoji("😇", "smiling face with halo", ("angel", "innocent")),
        ),
    ),
    EmojiCategory(
        "gestures",
        "Gestures",
        (
            Emoji("👍", "thumbs up", ("+1", "like", "yes", "ok")),
            Emoji("👎", "thumbs down", ("-1", "dislike", "no")),
            Emoji("👌", "ok hand", ("okay", "perfect")),
            Emoji("👋", "waving hand", ("wave", "hello", "hi", "bye")),
            Emoji("🙏", "folded hands", ("thanks", "please", "pray")),
            Emoji("👏", "clapping hands", ("clap", "bravo")),
            Emoji("🙌", "raising hands", ("hooray", "celebrate")),
            Emoji("🤝", "handshake", ("deal", "agreement")),
            Emoji("✌️", "victory hand", ("peace",)),
            Emoji("🤞", "crossed fingers", ("luck", "hope")),
            Emoji("💪", "flexed biceps", ("strong", "muscle")),
            Emoji("👉", "backhand index pointing right", ("point", "right")),
            Emoji("👆", "backhand index pointing up", ("point", "up")),
            Emoji("👀", "eyes", ("look", "see")),
            Emoji("🤷", "person shrugging", ("shrug", "dunno")),
            Emoji("🙋", "person raising hand", ("question", "me")),
        ),
    ),
    EmojiCategory(
        "symbols",
        "Hearts and symbols",
        (
            Emoji("❤️", "red heart", ("love", "heart")),
            Emoji("💙", "blue heart", ("love", "heart")),
            Emoji("💚", "green heart", ("love", "heart")),
            Emoji("💛", "yellow heart", ("love", "heart")),
            Emoji("✅", "check mark button", ("done", "yes", "tick")),
            Emoji("✔️", "check mark", ("done", "tick")),
            Emoji("❌", "cross mark", ("no", "wrong", "x")),
            Emoji("⚠️", "warning", ("caution", "alert")),
            Emoji("❗", "red exclamation mark", ("important", "bang")),
            Emoji("❓", "red question mark", ("question",)),
            Emoji("💯", "hundred points", ("100", "perfect")),
            Emoji("✨", "sparkles", ("shiny", "new")),
            Emoji("⭐", "star", ("favourite", "rating")),
            Emoji("🔥", "fire", ("hot", "lit")),
            Emoji("➡️", "right arrow", ("next", "arrow")),
            Emoji("ℹ️", "information", ("info",)),
        ),
    ),
    EmojiCategory(
        "objects",
        "Objects and travel",
        (
            Emoji("📦", "package", ("parcel", "box", "delivery", "order")),
            Emoji("🚚", "delivery truck", ("shipping", "delivery", "van")),
            Emoji("✈️", "airplane", ("flight", "travel")),
            Emoji("🏠", "house", ("home", "address")),
            Emoji("📞", "telephone receiver", ("phone", "call")),
            Emoji("📱", "mobile phone", ("phone", "cell")),
            Emoji("💻", "laptop", ("computer",)),
            Emoji("📧", "e-mail", ("email", "mail")),
            Emoji("📅", "calendar", ("date", "appointment")),
            Emoji("⏰", "alarm clock", ("time", "clock")),
            Emoji("⏳", "hourglass not done", ("wait", "time")),
            Emoji("💳", "credit card", ("payment", "card")),
            Emoji("💰", "money bag", ("money", "refund")),
            Emoji("🧾", "receipt", ("invoice", "bill")),
            Emoji("🔒", "locked", ("lock", "secure", "password")),
            Emoji("🔑", "key", ("password", "access")),
            Emoji("🎁", "wrapped gift", ("gift", "present")),
            Emoji("🎉", "party popper", ("party", "congrats", "tada")),
        ),
    ),
    EmojiCategory(
        "nature",
        "Nature and food",
        (
            Emoji("☀️", "sun", ("sunny", "weather")),
            Emoji("🌧️", "cloud with rain", ("rain", "weather")),
            Emoji("🌈", "rainbow", ()),
            Emoji("🌟", "glowing star", ("star",)),
            Emoji("🌸", "cherry blossom", ("flower", "spring")),
            Emoji("🌻", "sunflower", ("flower",)),
            Emoji("🍀", "four leaf clover", ("luck",)),
            Emoji("🐶", "dog face", ("dog", "puppy")),
            Emoji("🐱", "cat face", ("cat", "kitten")),
            Emoji("☕", "hot beverage", ("coffee", "tea")),
            Emoji("🍕", "pizza", ("food",)),
            Emoji("🍰", "shortcake", ("cake", "dessert")),
            Emoji("🎂", "birthday cake", ("birthday", "cake")),
            Emoji("🍎", "red apple", ("apple", "fruit")),
        ),
    ),
)


def all_emoji() -> list[Emoji]:
    return [emoji for category in CATEGORIES for emoji in category.emoji]
