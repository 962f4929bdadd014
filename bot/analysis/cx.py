"""Customer-experience type: complaint, praise, question, suggestion or other, from cues plus sentiment.

Cues are regular expressions over the post's normalised words (lower case, single spaces, `?`/`!` kept as their own
words), written per language from what a community manager looks for. Strong complaint cues (refunds, "still not",
broken, customer service) make a complaint on their own; weak ones (late, again, price rises) need negative sentiment.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bot.model import CxType


def _rx(*parts: str) -> re.Pattern[str]:
    # Cue text is words joined by single spaces and starts with one, so a leading literal space marks word starts;
    # it also lets the regex engine skip straight from space to space.
    return re.compile(r" (?:" + _by_first_letter(parts) + r")(?![\w'])")


_SPECIAL = frozenset("\\.^$*+?{}[]|()")
_QUANTIFIERS = frozenset("?*+{")


def _structure(pattern: str) -> Iterator[tuple[int, str, int]]:
    """Each `(`, `)` and `|` of a regex that is syntax (not escaped, not in a class), with its index and the group
    depth after it."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A `]` right after `[` or `[^` is a literal member, not the end of the class.
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif char in "()|":
            depth += {"(": 1, ")": -1, "|": 0}[char]
            yield i, char, depth
        i += 1


def _split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex: `a|b(?:c|d)` -> [`a`, `b(?:c|d)`]."""
    cuts = [i for i, char, depth in _structure(pattern) if char == "|" and depth == 0]
    return [pattern[start + 1 : stop] for start, stop in zip([-1, *cuts], [*cuts, len(pattern)], strict=True)]


def _closing_paren(pattern: str) -> int:
    """Index of the `)` that closes the group opening `pattern`, or -1."""
    return next((i for i, char, depth in _structure(pattern) if char == ")" and depth == 0), -1)


def _expanded(alternative: str) -> list[str]:
    """`(?:x|y) rest` as [`x rest`, `y rest`], which the regex engine tries in the same order; else unchanged."""
    if not alternative.startswith("(?:"):
        return [alternative]
    end = _closing_paren(alternative)
    rest = alternative[end + 1 :]
    if end < 0 or rest[:1] in _QUANTIFIERS:
        return [alternative]
    return [x for inner in _split_alternatives(alternative[3:end]) for x in _expanded(inner + rest)]


def _starts_with_literal(alternative: str) -> bool:
    return bool(alternative) and alternative[0] not in _SPECIAL and alternative[1:2] not in _QUANTIFIERS


def _by_first_letter(parts: tuple[str, ...]) -> str:
    """The alternation `parts[0]|parts[1]|...`, rewritten to match exactly the same text faster.

    The engine tries every alternative at every space; it rejects one that starts with a literal letter cheaply, but
    ~50 such rejections per space add up. Grouped by first letter (`s(?:till not|orry)|w(?:aited|rong)`), it tries a
    handful. Alternatives that start differently cannot both match at one place, so grouping those is safe; those that
    start with the same letter keep their order, and an alternative that does not start with a literal stays where it
    was, between the groups of the alternatives before and after it, so the first alternative that matches is the
    same as before.
    """
    alternatives = [x for part in parts for alternative in _split_alternatives(part) for x in _expanded(alternative)]
    out: list[str] = []
    run: dict[str, list[str]] = {}
    for alternative in alternatives:
        if _starts_with_literal(alternative):
            run.setdefault(alternative[0], []).append(alternative[1:])
            continue
        out.extend(re.escape(first) + "(?:" + "|".join(rests) + ")" for first, rests in run.items())
        run.clear()
        out.append(alternative)
    out.extend(re.escape(first) + "(?:" + "|".join(rests) + ")" for first, rests in run.items())
    return "|".join(out)


_NEVER = re.compile(r"(?!)")

COMPLAINT_STRONG: Mapping[str, re.Pattern[str]] = {
    "en": _rx(
        r"still (?:waiting|no|nothing|not|hasn't|haven't|hasnt|havent|doesn't|isn't)",
        r"waited",
        r"waiting (?:for|on)",
        r"been waiting",
        r"waiting (?:over |almost |nearly |more than )?(?:\d+|an?|two|three|four|five|six) "
        r"(?:hours?|days?|weeks?|months?)",
        r"refunds?",
        r"money back",
        r"charged (?:me )?twice",
        r"overcharged",
        r"broken",
        r"broke",
        r"fell apart",
        r"not working",
        r"(?:doesn't|won't|wont|doesnt) (?:work|load)",
        r"crash(?:es|ing|ed)?",
        r"outage",
        r"never (?:again|arrived|came|buying)",
        r"no (?:response|reply|answer|update)",
        r"ignored",
        r"on hold",
        r"hung up",
        r"(?:is|was|got|has) (?:been )?lost",
        r"missing",
        r"wrong (?:size|item|colou?r|address|house|person|order)",
        r"damaged",
        r"faulty",
        r"defective",
        r"customer service",
        r"complaint",
        r"unacceptable",
        r"useless",
        r"unusable",
        r"rip ?off",
        r"scam",
        r"what am i (?:even )?paying for",
        r"i(?:'m| am)(?: so)? done",
        r"fed up",
        r"nothing we can do",
        r"make it make sense",
        r"please fix",
        r"fix (?:it|this|your)",
        r"misleading",
        r"died",
        r"cancel(?:l)?ed (?:my|it)",
        r"took my money",
        r"(?:got|sent|gave) .{0,30}wrong",
        r"mouldy|moldy",
        r"dead",
        r"rude",
        r"down again",
        r"again and",
    ),
    "nl": _rx(
        r"nog steeds (?:niet|geen|niks|niets)",
        r"gewacht",
        r"wacht(?:en|end)? (?:op|al)",
        r"wacht ik",
        r"wachttijd",
        r"in de wacht",
        r"geld (?:pas )?terug",
        r"terugbetaling",
        r"restitutie",
        r"(?:2 ?x|dubbel|twee keer) (?:afgeschreven|afgerekend|af)",
        r"afgerekend",
        r"kapot(?:te)?",
        r"defect(?:e)?",
        r"werkt niet",
        r"doet het niet",
        r"ligt (?:er )?(?:wéér |weer )?uit",
        r"crasht",
        r"storing",
        r"geannuleerd",
        r"nooit meer",
        r"geen (?:reactie|antwoord|bericht|mededeling|uitleg)",
        r"(?:reageert|reageren) .{0,20}niet",
        r"neemt niet op",
        r"opgehangen",
        r"kwijt",
        r"verkeerde",
        r"beschadigd",
        r"ingedeukt",
        r"klantenservice",
        r"helpdesk",
        r"klacht",
        r"belachelijk",
        r"schandalig",
        r"waardeloos",
        r"oplichters?",
        r"waar betaal ik",
        r"wie gaat dat",
        r"compensatie",
        r"klaar mee",
        r"fix het",
        r"onbruikbaar",
        r"bedorven",
        r"misleidend",
        r"niet (?:meer )?(?:normaal|chill|oké|ok)",
        r"hoe dan",
        r"het zat",
        r"bedankt voor (?:niks|niets)",
        r"lekker dan",
        r"bijna een ongeluk",
        r"niet verwerkt",
        r"niks gehoord",
        r"verdubbeld",
        r"klopt (?:weer )?niet",
    ),
    "de": _rx(
        r"immer noch (?:nicht|kein|keine|nichts)",
        r"gewartet",
        r"warte (?:ich|seit)",
        r"rückerstattung",
        r"geld zurück",
        r"kaputt(?:en)?",
        r"defekt",
        r"funktioniert nicht",
        r"storniert",
        r"nie wieder",
        r"keine antwort",
        r"kundenservice",
        r"kundendienst",
        r"beschwerde",
        r"lächerlich",
        r"fehlanzeige",
        r"danke für nichts",
        r"schon wieder down",
        r"nicht mehr normal",
    ),
    "fr": _rx(
        r"toujours (?:pas|rien)",
        r"j'attends",
        r"rembours\w*",
        r"cassée?",
        r"en panne",
        r"ne (?:marche|fonctionne) pas",
        r"annulée?",
        r"plus jamais",
        r"aucune réponse",
        r"service client",
        r"réclamation",
        r"inadmissible",
        r"n'importe quoi",
        r"merci pour rien",
    ),
    "es": _rx(
        r"todavía (?:no|nada)",
        r"sigo sin",
        r"esperando",
        r"reembolso",
        r"devolución",
        r"rot[oa]",
        r"no funciona",
        r"caíd[ao]",
        r"cancelad[oa]",
        r"nunca más",
        r"ni una respuesta",
        r"sin respuesta",
        r"atención al cliente",
        r"queja",
        r"pésim[oa]",
        r"gracias por nada",
    ),
}

COMPLAINT_WEAK: Mapping[str, re.Pattern[str]] = {
    "en": _rx(
        r"late",
        r"delayed",
        r"cold",
        r"lukewarm",
        r"again",
        r"(?:second|third|2nd|3rd|4th) time",
        r"raised|raising|charges?|charging",
        r"prices?",
        r"\d+ (?:weeks|days|minutes|hours)",
        r"seriously",
        r"wait(?:ing)?",
        r"chatbot",
        r"nothing",
        r"wrong",
    ),
    "nl": _rx(
        r"te laat",
        r"vertraagd",
        r"vertraging",
        r"koud",
        r"lauw",
        r"alweer",
        r"wéér",
        r"weer eens",
        r"(?:derde|tweede|3e|2e|4e) keer",
        r"verhoog\w*",
        r"verhoging",
        r"duurder",
        r"gestegen",
        r"rekent",
        r"\d+ (?:weken|dagen|minuten|uur)",
        r"serieus",
        r"wacht\w*",
        r"chatbot",
        r"niks",
        r"verkeerd",
        r"zucht",
    ),
    "de": _rx(
        r"kalt",
        r"verspätet",
        r"schon wieder",
        r"zum (?:dritten|zweiten) mal",
        r"warte\w*",
        r"\d+ (?:wochen|tagen|minuten)",
    ),
    "fr": _rx(
        r"froide?",
        r"en retard",
        r"encore",
        r"(?:troisième|deuxième) \w+",
        r"attente",
        r"attends",
        r"\d+ (?:semaines|jours)",
    ),
    "es": _rx(
        r"frío|fría",
        r"tarde",
        r"otra vez",
        r"de nuevo",
        r"(?:tercer|segundo|tercera) \w+",
        r"esperando",
        r"\d+ (?:semanas|días)",
    ),
}

QUESTION: Mapping[str, re.Pattern[str]] = {
    "en": _rx(
        r"anyone (?:know|tried|else|here|used|up)",
        r"does anyone",
        r"has anyone",
        r"can (?:someone|anyone)",
        r"question for",
        r"wondering (?:if|whether)",
        r"any idea",
        r"how do i",
        r"can i",
        r"is there",
    ),
    "nl": _rx(
        r"weet iemand",
        r"iemand (?:ervaring|een idee|zin)",
        r"zijn er mensen",
        r"heeft iemand",
        r"kan iemand",
        r"is er iemand",
        r"vraagje",
        r"vraag aan",
        r"hoe (?:zeg|annuleer|kan|doe) ik",
        r"kan ik",
        r"kun je",
    ),
    "de": _rx(r"weiß jemand", r"hat jemand", r"kann (?:mir )?jemand", r"gibt es"),
    "fr": _rx(r"quelqu'un (?:sait|a)", r"est-ce que", r"savez-vous", r"comment"),
    "es": _rx(r"alguien (?:sabe|ha)", r"¿"),
}
_QUESTION_START: Mapping[str, re.Pattern[str]] = {
    "en": re.compile(r"^(?:how|what|when|where|why|who|which|is|are|does|do|did|can|could|will|has|have|any|anyone)\b"),
    "nl": re.compile(
        r"^(?:hoe|wat|wanneer|waar|waarom|wie|welke|is|zijn|kan|kun|kunnen|heeft|hebben|doet|doen|weet|werkt|levert"
        r"|verkoopt|valt)\b"
    ),
    "de": re.compile(r"^(?:wie|was|wann|wo|warum|welche|kann|gibt|hat|macht|ist|sind|weiß)\b"),
    "fr": re.compile(r"^(?:comment|pourquoi|quand|où|qui|quel|quelle|est-ce)\b"),
    "es": re.compile(r"^(?:¿|cómo|qué|cuándo|dónde|por qué|quién|alguien)"),
}

SUGGESTION: Mapping[str, re.Pattern[str]] = {
    "en": _rx(
        r"would be (?:\w+ )?(?:nice|great|good|awesome|helpful|handy|cool|better|useful)",
        r"it'd be nice",
        r"would help",
        r"i wish",
        r"wish .{0,25}would",
        r"(?:please|pls) (?:add|let|make|bring|consider|offer)",
        r"should (?:\w+ )?(?:add|have|ship|offer|let|make|take)",
        r"could (?:you|really) (?:add|make|use)",
        r"suggestion",
        r"idea for",
        r"feature request",
        r"maybe (?:open|add|send|offer)",
        r"why can't i",
        r"(?:really )?needs (?:a|an|to)",
        r"would love (?:it )?if",
        r"bring back",
        r"my wish",
        r"let us",
        r"could really use",
    ),
    "nl": _rx(
        r"zou (?:het )?(?:\w+ )?(?:fijn|mooi|handig|leuk|top|nice|chill|fijner|beter|super|praktisch) (?:zijn|wezen)",
        r"zou .{0,40}moeten",
        r"zou (?:echt )?wat meer",
        r"(?:mogen|moet) echt",
        r"misschien een idee",
        r"idee voor",
        r"tip voor",
        r"voorstel",
        r"suggestie",
        r"graag zien",
        r"waarom (?:niet|geen)",
        r"maak (?:aub|alsjeblieft|eens)",
        r"voeg .{0,30}toe",
        r"breng .{0,30}terug",
        r"mijn wens",
        r"zou het niet handig",
        r"zou .{0,20}handig zijn",
        r"waarom kun je niet",
        r"geef gewoon een",
    ),
    "de": _rx(
        r"wäre (?:\w+ )?(?:schön|toll|gut|praktisch|super|cool)",
        r"bitte .{0,30}(?:einführen|hinzufügen|anbieten)",
        r"vorschlag",
    ),
    "fr": _rx(
        r"ce serait (?:\w+ )?(?:bien|super|génial|pratique|top)",
        r"j'aimerais (?:que|bien)",
        r"suggestion",
        r"il faudrait",
        r"pourriez-vous",
    ),
    "es": _rx(
        r"estaría bien", r"sería (?:\w+ )?(?:genial|útil|bueno|ideal)", r"deberían", r"sugerencia", r"añad\w+", r"ojalá"
    ),
}

PRAISE: Mapping[str, re.Pattern[str]] = {
    "en": _rx(
        r"thanks?", r"thank you", r"shout ?out", r"kudos", r"recommend", r"respect", r"well done", r"legends?", r"love"
    ),
    "nl": _rx(
        r"bedankt", r"dank ?je ?wel", r"dank", r"shoutout", r"complimenten", r"chapeau", r"aanrader", r"top", r"netjes"
    ),
    "de": _rx(r"danke", r"vielen dank", r"empfehl\w*", r"top"),
    "fr": _rx(r"merci", r"au top", r"bravo", r"recommande"),
    "es": _rx(r"gracias", r"recomiendo", r"genial"),
}

# Thanking someone *for* something is praise even when the something was trouble ("thanks for replacing my broken
# grinder"): the trouble words are then history, not the complaint. "Thanks for nothing" is the sarcastic exception.
GRATITUDE: Mapping[str, re.Pattern[str]] = {
    "en": _rx(r"(?:thanks?|thank you|shout ?out|kudos|props)(?: \S+){0,3} for(?! nothing| wasting| ruining)"),
    "nl": _rx(
        r"(?:bedankt|dank ?je ?wel|dank ?jullie ?wel|dank|complimenten|shoutout)(?: \S+){0,3} voor(?! niks| niets)"
    ),
    "de": _rx(r"(?:danke|vielen dank)(?: \S+){0,3} für(?! nichts)"),
    "fr": _rx(r"merci(?: \S+){0,3} (?:pour|d'avoir)(?! rien)"),
    "es": _rx(r"gracias(?: \S+){0,3} por(?! nada)"),
}

# A contrast before the brand ("luckily", "at least", "gelukkig") marks the earlier trouble as not the brand's fault.
RELIEF = _rx(
    r"luckily",
    r"at least",
    r"thankfully",
    r"gelukkig",
    r"toch",
    r"wenigstens",
    r"zum glück",
    r"heureusement",
    r"au moins",
    r"por suerte",
    r"al menos",
    r"to cope",
    r"maar even",
    r"might grab",
    r"dan maar",
)


@dataclass(frozen=True, slots=True)
class Cues:
    """What the cue patterns found in a stretch of text."""

    complaint_strong: int = 0
    complaint_weak: int = 0
    question: bool = False
    suggestion: bool = False
    praise: bool = False
    gratitude: bool = False
    """Thanks *for* something: praise, whatever trouble the something was."""

    @property
    def complaint(self) -> int:
        """Complaint evidence: strong cues count double."""
        return 2 * self.complaint_strong + self.complaint_weak


# Cues are immutable and take few distinct values, so equal ones are shared rather than built per post (building a
# frozen dataclass costs about a microsecond).
_cues = functools.lru_cache(maxsize=4096)(Cues)


def _count(pattern: re.Pattern[str] | None, text: str) -> int:
    return len(pattern.findall(text)) if pattern is not None else 0


def find_cues(
    text: str, language: str | None, sentence_starts: tuple[str, ...] = (), include_english: bool = False
) -> Cues:
    """Cues in normalised `text` (words joined by spaces) for `language`, plus English ones when asked or unknown."""
    text = " " + text
    langs: list[str] = [language] if language is not None and language in COMPLAINT_STRONG else []
    if "en" not in langs and (include_english or not langs):
        langs.append("en")
    strong = weak = 0
    # Each flag is searched for only until one language has set it: a question mark alone makes a question, and
    # gratitude is praise.
    question = "?" in text
    suggestion = praise = gratitude = False
    for lang in langs:
        strong += _count(COMPLAINT_STRONG.get(lang), text)
        weak += _count(COMPLAINT_WEAK.get(lang), text)
        question = question or bool(QUESTION.get(lang, _NEVER).search(text))
        suggestion = suggestion or bool(SUGGESTION.get(lang, _NEVER).search(text))
        gratitude = gratitude or bool(GRATITUDE.get(lang, _NEVER).search(text))
        praise = praise or gratitude or bool(PRAISE.get(lang, _NEVER).search(text))
        start = _QUESTION_START.get(lang)
        if not question and start is not None:
            question = any(s.rstrip().endswith("?") and start.match(s) for s in sentence_starts)
    return _cues(strong, weak, question, suggestion, praise, gratitude)


def classify(cues: Cues, compound: float, positive_at: float, negative_at: float) -> CxType:
    """The CX type from cues and the post's sentiment compound score (-1..1)."""
    evidence = cues.complaint
    if cues.gratitude and not cues.question and evidence < 4 and compound > -0.5:
        return "praise"
    if cues.suggestion and not (evidence >= 4 and compound <= negative_at):
        return "suggestion"
    if cues.question:
        # A question in a complaint is usually rhetorical ("What am I paying for?"); a plain question is not.
        if (evidence >= 2 and compound <= negative_at) or evidence >= 4:
            return "complaint"
        if compound >= 0.6 and cues.praise:
            return "praise"
        return "question"
    if evidence >= 2 and compound < positive_at:
        return "complaint"
    if evidence >= 1 and compound <= negative_at:
        return "complaint"
    if compound <= -0.5:
        return "complaint"
    if compound >= positive_at or (cues.praise and compound >= 0):
        return "praise"
    return "other"
