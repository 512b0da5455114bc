"""Word lists and name makers for the sample world's fictional recordings.

Kept apart from the simulation so the vocabulary can grow without touching the rules; every
function takes its `random.Random`, so names stay a pure function of the world's seed. Any genre
a catalog names gets a vocabulary (`style_of`), so the world has recordings for it.
"""

from __future__ import annotations

import functools
import hashlib
import html
import random
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "LABELS",
    "Style",
    "album_name",
    "alias",
    "artist_name",
    "first_artist",
    "respell",
    "slugify",
    "style_of",
    "tokens",
    "track_title",
]

# fmt: off
_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "country": (
        "Dusty", "Rusty", "Lonesome", "Southern", "Small Town", "Backroad", "Gravel", "Red Dirt",
        "Honky Tonk", "Blue Collar", "Moonlit", "Rodeo", "Tennessee", "Cotton", "Bonfire", "Wild",
        "Faded", "Sweet", "Heartland", "Silver", "Muddy", "Whiskey", "Country", "Wildflower",
    ),
    "dance": (
        "Neon", "Electric", "Hyper", "Midnight", "Liquid", "Cosmic", "Strobe", "Ultra", "Velvet",
        "Sonic", "Infinite", "Digital", "Solar", "Crystal", "Euphoric", "Afterhours", "Laser",
        "Tidal", "Magnetic", "Lucid", "Chrome", "Higher", "Deep", "Warehouse",
    ),
    "pop": (
        "Golden", "Pretty", "Sugar", "Paper", "Summer", "Broken", "Glass", "Perfect", "Careless",
        "Cherry", "Satellite", "Lovesick", "Bubblegum", "Secret", "Daydream", "Cinnamon",
        "Champagne", "Bright", "Technicolor", "Diamond", "Lavender", "Starry", "Honey", "Pink",
    ),
    "rap": (
        "Cold", "Real", "Big", "Ice", "Street", "Trap", "Young", "Heavy", "Gold", "Hard", "Drip",
        "Late", "Made", "Fast", "Loud", "Night", "Concrete", "Smoke", "Crown", "Blessed", "Clean",
        "Double", "Solid", "Legit",
    ),
}

_NOUNS: dict[str, tuple[str, ...]] = {
    "country": (
        "Tailgate", "Dirt Road", "Porch Light", "Creek", "Pickup", "Hometown", "Boots", "Prayer",
        "Harvest", "Highway", "Jukebox", "Sunset", "Cornfield", "Fiddle", "Bar Stool", "Riverbank",
        "Tumbleweed", "Front Porch", "Hayride", "Cowboy", "Church Bells", "Railroad", "Saddle",
        "Barn Dance",
    ),
    "dance": (
        "Pulse", "Bassline", "Frequency", "Signal", "Horizon", "Rave", "Orbit", "Motion",
        "Gravity", "Voltage", "Skyline", "Heartbeat", "Echo", "Rhythm", "Tempo", "Afterglow",
        "Paradise", "Circuit", "Spectrum", "Dancefloor", "Waves", "Lights", "Mirage", "Overdrive",
    ),
    "pop": (
        "Heart", "Kiss", "Daydream", "Lullaby", "Summer", "Butterflies", "Mirror", "Postcard",
        "Rollercoaster", "Sweater", "Polaroid", "Fireworks", "Balloon", "Lipstick", "Heartbreak",
        "Moonlight", "Rainbow", "Carousel", "Bubble", "Sunshine", "Diary", "Melody", "Crush",
        "Stardust",
    ),
    "rap": (
        "Money", "Block", "Hustle", "Chain", "Bando", "Racks", "Pressure", "Flex", "Opps", "Wave",
        "Motion", "Trenches", "Stack", "Bag", "Rollie", "Whip", "Crown", "Vibes", "Shooter",
        "Cartel", "Kingdom", "Dreams", "Hood", "Paper",
    ),
}

_STAGE_PREFIX: dict[str, tuple[str, ...]] = {
    "country": ("", "", "", ""),
    "dance": ("DJ ", "", "", ""),
    "pop": ("", "", "", ""),
    "rap": ("Lil ", "Young ", "MC ", "Big "),
}

_PHRASES: tuple[str, ...] = (
    "Can't Stop {n}", "Dancing Through the {n}", "{n} for You", "Waiting on {n}",
    "Thinking About the {n}", "Burning {n}", "Nothing But {n}", "Tonight's {n}", "Love Like {n}",
    "Running to the {n}", "Going {a}", "{a} Night", "All the {n}", "What You Are",
    "Lost in the {n}", "Falling for the {n}",
)

_FIRST = (
    "Mason", "Carly", "Tucker", "Ella", "Wyatt", "Maren", "Jesse", "Lainey", "Colt", "Ashley",
    "Riley", "Nova", "Jasper", "Zara", "Milo", "Luna", "Kai", "Sienna", "Theo", "Aria", "Jonah",
    "Ivy", "Reid", "Harper", "Beau", "Callie", "Rhett", "Skye", "Dallas", "Maddie", "Emmett",
    "Zoë", "Josée", "Ren", "Talia", "Nico", "Sadie", "Quinn", "Bodhi", "Elena",
)

_LAST = (
    "Reed", "Hollow", "Carter", "Bishop", "Crane", "Wilder", "Hayes", "Monroe", "Sutton", "Vaughn",
    "Lane", "Barrett", "Holloway", "Pierce", "Calloway", "Whitlock", "Ramsey", "Fontaine", "Shaw",
    "Decker", "Maddox", "Rivers", "Kingsley", "Blackwood", "Sterling", "Harlow", "Quinlan",
    "Everly", "Castillo", "Navarro", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Ibarra",
)

_STAGE_WORDS = (
    "Vortex", "Kairo", "Zephyr", "Sable", "Onyx", "Solace", "Nyx", "Prism", "Raven", "Jett",
    "Echoes", "Astra", "Blaze", "Cipher", "Dusk", "Ember", "Flux", "Glint", "Halo", "Indigo",
    "Juno", "Koda", "Lyric", "Mosaic", "Nimbus", "Orion", "Pixel", "Quasar", "Rogue", "Sonar",
    "Tesla", "Umbra", "Vega", "Wraith", "Xeno", "Yonder", "Zenith", "Axiom", "Bolt", "Comet",
)

_BAND_WORDS = (
    "Hours", "Pines", "Rebels", "Outlaws", "Satellites", "Foxes", "Wanderers", "Lanterns",
    "Ramblers", "Comets", "Sparrows", "Highways", "Strangers", "Daydreamers", "Riders",
)

_ALBUM_WORDS = (
    "Sessions", "Chapters", "Stories", "Tapes", "Diaries", "Letters", "Deluxe", "Anthems",
    "Nights", "Seasons", "Files", "Postcards",
)

# fmt: on

LABELS: tuple[str, ...] = (
    "Big Loud Records",
    "Broken Bow Records",
    "Atlantic Recording Corporation",
    "Republic Records",
    "Columbia Records",
    "Interscope Records",
    "Spinnin' Records",
    "Ultra Records",
    "Monstercat",
    "Quality Control Music",
    "Def Jam Recordings",
    "Independent",
)

_RESPELLINGS = {
    "you": "U",
    "your": "Ur",
    "to": "2",
    "too": "2",
    "for": "4",
    "night": "Nite",
    "tonight": "2nite",
    "love": "Luv",
    "the": "Da",
    "through": "Thru",
    "are": "R",
    "boys": "Boyz",
    "lights": "Lites",
    "light": "Lite",
    "nothing": "Nothin'",
    "going": "Goin'",
}


@dataclass(frozen=True)
class Style:
    """A genre's vocabulary: title words, how its acts are named, whether tracks are explicit."""

    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    stage_prefixes: tuple[str, ...]
    people: bool
    """Acts are people and bands ("Mason Reed") rather than stage names ("Lil Vortex")."""
    explicit: bool


_STYLES = {
    name: Style(
        _ADJECTIVES[name],
        _NOUNS[name],
        _STAGE_PREFIX[name],
        people=name in ("country", "pop"),
        explicit=name == "rap",
    )
    for name in _ADJECTIVES
}


def _union(lists: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(word for words in lists.values() for word in words))


@functools.cache
def style_of(genre: str) -> Style:
    """The vocabulary of a genre, a pure function of its name.

    A genre named like a style speaks it; any other hashes its name for its acts' kind and
    draws words from every style (wide enough that many genres still find unique titles).
    """
    known = _STYLES.get(genre)
    if known is not None:
        return known
    digest = hashlib.sha256(genre.encode("utf-8")).digest()
    return Style(
        _union(_ADJECTIVES),
        _union(_NOUNS),
        _union(_STAGE_PREFIX),
        people=digest[0] % 2 == 0,
        explicit=digest[1] % 4 == 0,
    )


def track_title(rng: random.Random, genre: str) -> str:
    """A readable title from the genre's vocabulary, without any "(...)" part."""
    style = style_of(genre)
    adjective = rng.choice(style.adjectives)
    noun = rng.choice(style.nouns)
    roll = rng.random()
    if roll < 0.45:
        return f"{adjective} {noun}"
    if roll < 0.75:
        return rng.choice(_PHRASES).format(a=adjective, n=noun)
    if roll < 0.9:
        return noun
    return f"{noun} {rng.choice(('Anthem', 'Song', 'Story', 'Prayer', 'Ride', 'Dream'))}"


def artist_name(rng: random.Random, genre: str) -> str:
    """A fictional act: a person, a stage name or a band; never contains "&", "," or "feat"."""
    style = style_of(genre)
    roll = rng.random()
    if style.people:
        if roll < 0.8:
            return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        return f"The {rng.choice(style.adjectives).split()[0]} {rng.choice(_BAND_WORDS)}"
    if roll < 0.6:
        return f"{rng.choice(style.stage_prefixes)}{rng.choice(_STAGE_WORDS)}".strip()
    if roll < 0.85:
        return f"{rng.choice(_STAGE_WORDS)} {rng.choice(_LAST)}"
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def album_name(rng: random.Random, title: str) -> str:
    """An album for a track that is not a single."""
    return f"{title.split()[-1]} {rng.choice(_ALBUM_WORDS)}"


def respell(title: str) -> str:
    """A stylised spelling of a title (how some catalogues list it): "Love for You" -> "Luv 4 U".

    Only the part before any "(...)" changes; with nothing to respell, the last word gains or
    loses its plural "s" ("Heart" -> "Hearts"), a common catalogue mismatch.
    """
    head, bracket, tail = title.partition(" (")
    words = head.split()
    out: list[str] = []
    for word in words:
        key = word.lower().strip("'")
        if key in _RESPELLINGS:
            out.append(_RESPELLINGS[key])
        elif len(key) > 4 and key.endswith("ing"):
            out.append(word[:-1] + "'")
        else:
            out.append(word)
    if out == words:
        last = out[-1]
        if last.endswith("s") and len(last) > 3:
            out[-1] = last[:-1]
        else:
            out[-1] = last + ("es" if last.endswith(("ch", "sh", "x")) else "s")
    return " ".join(out) + bracket + tail


def alias(artist: str) -> str:
    """Another credit for the same act: "Mason Reed" -> "M. Reed", "Kairo" -> "The Real Kairo"."""
    parts = artist.split()
    if len(parts) >= 2 and parts[0].lower() != "the":
        return f"{parts[0][0]}. {' '.join(parts[1:])}"
    if parts and parts[0].lower() == "the":
        return " ".join(parts[1:]) + " Band"
    return f"The Real {artist}"


def slugify(text: str) -> str:
    """A URL slug as the services make them: ASCII lower-case words joined by dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = ascii_text.replace("'", "").replace("&", "and")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "untitled"


_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_ARTIST_SEPARATORS = re.compile(r",|&|\s+(?:feat\.?|ft\.?|featuring|with|x)\s+", re.IGNORECASE)


def tokens(text: str) -> tuple[str, ...]:
    """Words for matching: entities decoded, accents and "(...)"/"[...]" parts dropped, lowered."""
    plain = unicodedata.normalize("NFKD", html.unescape(text)).encode("ascii", "ignore").decode()
    plain = _BRACKETS.sub(" ", plain.replace("'", "").replace("’", "")).lower()
    return tuple(re.findall(r"[a-z0-9]+", plain))


def first_artist(text: str) -> str:
    """The lead act of an artist credit like "A, B", "A & B" or "A feat. B"."""
    return _ARTIST_SEPARATORS.split(html.unescape(text), maxsplit=1)[0].strip()
