"""The demo's world: a few accounts on a local Mastodon server and the posts they write over three polls."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A seeded account on the demo server."""

    username: str
    display_name: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class DemoPost:
    """A post one of the accounts writes; `wave` is the poll cycle before which it appears."""

    account: str
    text: str
    language: str
    wave: int = 0
    favourites: tuple[str, ...] = ()
    boosts: tuple[str, ...] = ()


ACCOUNTS = (
    DemoAccount("sanne", "Sanne 🚲", "Fietst overal heen. Koffie-snob."),
    DemoAccount("joost", "Joost de Vries", "Developer in Utrecht"),
    DemoAccount("maria", "María", "Coffee, code and climbing"),
    DemoAccount("tom", "Tom", "Dad, runner, barista-in-training"),
    DemoAccount("lotte", "Lotte", "Duurzaam leven, één stap per keer"),
    DemoAccount("pim", "Pim (no bots please)", "Privé account. #nobot"),
    DemoAccount("acmecoffee", "Acme Coffee", "Official account of Acme Coffee ☕"),
)

DEMO_CONFIG = """
timezone = "Europe/Amsterdam"

[storage]
url = "sqlite:///{db}"

[schedule]
poll_interval = "10s"
digest_at = "09:00"

[mastodon]
hashtags = ["koffie"]
backfill = "24h"

[[mastodon.instances]]
url = "{mastodon_url}"

[ops]
http_port = 0   # any free port: the demo must not collide with a Merkwacht already running here

[[brands]]
name = "Acme Coffee"
terms = ["Acme", "Acme Coffee"]
hashtags = ["acme", "acmecoffee"]
handles = ["@acmecoffee@mock.local"]
exclude = ["Acme Corporation"]

[[brands]]
name = "FietsFix"
terms = ["FietsFix", "Fiets Fix"]
hashtags = ["fietsfix"]

[[topics]]
name = "delivery"
terms = ["delivery", "bezorging", "levering", "geleverd", "pakket", "shipping"]

[[topics]]
name = "price"
terms = ["price", "prijs", "duur", "expensive", "goedkoop", "€"]

[[topics]]
name = "sustainability"
terms = ["duurzaam", "sustainable", "plastic", "recyclebaar", "compost"]
"""

POSTS = (
    # Before the first poll: the backfill finds these.
    DemoPost(
        "sanne",
        "Al 3 weken wacht ik op mijn bestelling bij #AcmeCoffee. Klantenservice reageert niet. Echt slecht 😡",
        "nl",
        favourites=("joost", "lotte"),
        boosts=("joost",),
    ),
    DemoPost(
        "maria",
        "Just tried the new Acme Coffee espresso blend and wow, best coffee I've had this year! ☕😍 "
        "#coffee #acmecoffee",
        "en",
        favourites=("tom", "joost", "sanne"),
    ),
    DemoPost("joost", "Weet iemand of Acme ook bonen zonder plastic verpakking verkoopt? #koffie #duurzaam", "nl"),
    DemoPost(
        "tom",
        "My Acme grinder broke after two weeks. Asked for a refund five days ago, still nothing. #acme",
        "en",
        favourites=("maria",),
    ),
    DemoPost("lotte", "Zondagochtend, verse #koffie en de krant. Meer heb ik niet nodig.", "nl", favourites=("sanne",)),
    DemoPost("pim", "Acme Coffee is overpriced, don't @ me #acme", "en"),
    DemoPost("joost", "De nieuwe Acme Corporation film is echt verschrikkelijk #bioscoop #koffie", "nl"),
    DemoPost("sanne", "Mijn fiets staat al 10 dagen bij FietsFix en ze nemen de telefoon niet op. #fietsfix", "nl"),
    # Between the first and second poll.
    DemoPost(
        "maria",
        "Shoutout to @acmecoffee for replacing my broken grinder without any hassle. That's service! #acme",
        "en",
        wave=1,
        favourites=("tom", "sanne", "joost", "lotte"),
        boosts=("tom", "lotte"),
    ),
    DemoPost("lotte", "Het zou fijn zijn als Acme ook havermelk in de winkel had. #acmecoffee", "nl", wave=1),
    DemoPost("tom", "Is the Acme subscription worth it? How often do they deliver? #coffee #acme", "en", wave=1),
    DemoPost(
        "joost", "Drie euro voor een cappuccino bij Acme, prima prijs voor deze kwaliteit 👍 #koffie", "nl", wave=1
    ),
    DemoPost(
        "sanne",
        "FietsFix heeft mijn band in 10 minuten geplakt, top service! 🚲👏 #fietsfix",
        "nl",
        wave=1,
        favourites=("lotte",),
    ),
    # Between the second and third poll.
    DemoPost(
        "tom",
        "Still no reply from Acme support after 9 days. Unacceptable. #acme",
        "en",
        wave=2,
        favourites=("sanne", "maria"),
    ),
    DemoPost("lotte", "Nieuwe #koffie bar op de hoek geopend, ga ik morgen proberen!", "nl", wave=2),
    DemoPost("maria", "Wish Acme would ship to Spain, the beans are so good 😢 #acmecoffee", "en", wave=2),
    DemoPost("joost", "Waarom is de Acme app vandaag weer offline? Kan niet bestellen. #acme", "nl", wave=2),
)
