"""Word classes in four languages that tell who is asked to act, and toward whom.

The model reads a clause as a sequence of these classes and the remaining words, so it learns
"ADVISE CONTACT PARTY" once rather than each wording: the customer told to act (ADVISE), us acting
(WE), the other party acting (PARTY ... FUTURE), negations (NEG) and reported history (REPORTED).
Words are written as the text is seen: lowercase ASCII ("muessen" and "mussen" both).
"""

from __future__ import annotations

import re

_CLASSES: dict[str, list[str]] = {
    "NEG": [
        r"no need",
        r"(?:do|does|will|would)(?: not|n't) (?:need|have)",
        r"needn't",
        r"won't need",
        r"not necessary",
        r"no longer",
        r"never",
        r"nothing (?:to do|needed|further)",
        r"no action",
        r"(?:don't|do not|please don't) (?:call|contact|worry)",
        r"no hace falta",
        r"no es necesario",
        r"no (?:necesita|tiene que|debe)",
        r"sin necesidad",
        r"pas besoin",
        r"inutile",
        r"n'avez (?:pas|rien)",
        r"(?:ne|n')\w* (?:pas|plus|rien)",
        r"nicht (?:notig|erforderlich|mehr)",
        r"(?:mussen|muessen|brauchen) sie (?:nicht|nichts)",
        r"nicht",
    ],
    "REPORTED": [
        r"you (?:told|said|mentioned|asked|explained|let) (?:us|me)?",
        r"as you (?:said|mentioned)",
        r"(?:nos|me) (?:comento|dijo|indico|conto|explico)",
        r"usted nos",
        r"segun nos",
        r"vous (?:nous|m')\s?(?:avez|aviez) (?:dit|indique|signale|explique|demande)",
        r"sie (?:hatten|haben) uns (?:gesagt|mitgeteilt|erzahlt)",
        r"wie sie (?:sagten|erwahnten)",
        r"(?:had|has|have) asked you",
        r"told you to",
        r"le (?:pidio|indico|dijo) que",
        r"vous (?:a|avait) demande",
        r"(?:hat|hatte) sie gebeten",
    ],
    "ADVISE": [
        r"please",
        r"pls",
        r"kindly",
        r"you(?:'ll| will| would|'d)? (?:need|have|want) to",
        r"you(?:'ll| will)? just need to",
        r"you (?:should|must|ought to|could|can|may|might)",
        r"you(?:'d| would) (?:be best|be better|do best)",
        r"you're better off",
        r"i(?:'d| would)? (?:suggest|recommend|advise)",
        r"we(?:'d| would)? (?:suggest|recommend|advise)",
        r"(?:it's|it is|it would be|it'd be|it might be|probably|maybe) (?:best|better|worth|wise)",
        r"your (?:best|next|only) (?:bet|option|step|route|port of call)",
        r"best to",
        r"the (?:next|only|best) (?:step|option|thing)",
        r"worth (?:a|getting|giving|calling)",
        r"feel free",
        r"make sure",
        r"be sure",
        r"perhaps",
        r"maybe",
        r"try",
        r"por favor",
        r"porfa",
        r"le (?:recomendamos|recomiendo|sugerimos|sugiero|aconsejamos)",
        r"(?:debe|debera|deberia|tiene que|tendra que|tendria que|necesita|puede|podria)",
        r"lo mejor (?:es|seria|sera)",
        r"(?:mejor|quiza|quizas|conviene)",
        r"veuillez",
        r"merci de",
        r"vous (?:devez|devrez|devriez|pouvez|pourriez|pourrez)",
        r"il (?:faut|faudra|faudrait|vaut mieux)",
        r"mieux vaut",
        r"le mieux",
        r"(?:nous|je) vous (?:invitons|invite|conseillons|conseille|recommandons|recommande)",
        r"ca vaut (?:peut-etre )?le coup",
        r"n'hesitez pas",
        r"bitte",
        r"sie (?:mussen|muessen|mussten|sollten|konnen|koennen|durfen)",
        r"(?:wir empfehlen|ich empfehle|ich wurde|ich wuerde) (?:ihnen)?",
        r"am besten",
        r"vielleicht",
        r"es ware",
    ],
    "DONE": [
        r"called",
        r"contacted",
        r"phoned",
        r"emailed",
        r"e-mailed",
        r"spoke",
        r"spoken",
        r"talked",
        r"rang",
        r"reached out",
        r"wrote",
        r"written",
        r"raised",
        r"filed",
        r"lodged",
        r"submitted",
        r"reported",
        r"messaged",
        r"passed (?:it|this|on)",
        r"forwarded",
        r"sent",
        r"(?:contactado|llamado|hablado|escrito|presentado|enviado|comunicado|trasladado)",
        r"(?:contacte|appele|ecrit|parle|depose|signale|transmis|envoye|joint)",
        r"(?:kontaktiert|angerufen|gesprochen|geschrieben|gemeldet|telefoniert|eingereicht"
        r"|weitergeleitet|geschickt|informiert)",
    ],
    "CONTACT": [
        r"reach out",
        r"get in touch",
        r"get hold",
        r"speak",
        r"talk",
        r"chat",
        r"call(?:ing)?",
        r"phon(?:e|ing)",
        r"ring(?:ing)?",
        r"contact(?:ing)?",
        r"e-?mail(?:ing)?",
        r"write",
        r"message",
        r"text",
        r"check with",
        r"follow up",
        r"liaise",
        r"take (?:it|this|that) up",
        r"raise",
        r"visit",
        r"go (?:to|back)",
        r"head (?:to|over)",
        r"pop (?:in|into)",
        r"ask",
        r"complain",
        r"a word with",
        r"a (?:call|ring|line|bell)",
        r"get onto",
        r"get on to",
        r"llam\w*",
        r"contact\w*",
        r"comuniq\w*",
        r"en contacto",
        r"dirij\w*",
        r"acud\w*",
        r"habl\w*",
        r"escrib\w*",
        r"consult\w*",
        r"pida\w*",
        r"pidale",
        r"appel\w*",
        r"adress\w*",
        r"joindre",
        r"ecri\w*",
        r"rapproch\w*",
        r"tourn\w*",
        r"renseign\w*",
        r"coup de fil",
        r"passer voir",
        r"aupres",
        r"anruf\w*",
        r"ruf\w*",
        r"kontakt\w*",
        r"wend\w*",
        r"meld\w*",
        r"schreib\w*",
        r"erkundig\w*",
        r"telefonier\w*",
        r"nachfrag\w*",
        r"in verbindung",
        r"klar\w*",
        r"sprech\w*",
        r"bitten sie",
        r"chase",
        r"keep on at",
        r"open a case",
        r"request",
        r"take (?:it|them|this) (?:to|back)",
        r"want the",
        r"go(?:es)? to",
        r"seguimiento",
        r"voir (?:directement )?avec",
        r"get (?:your|the)",
        r"have (?:your|the)",
        r"between you and",
        r"for them to",
        r"from them",
        r"(?:is|are) (?:the one|for)",
    ],
    "CLAIM": [
        r"file",
        r"lodge",
        r"submit",
        r"dispute",
        r"claim",
        r"chargeback",
        r"complaint",
        r"appeal",
        r"report",
        r"reclam\w*",
        r"presentar\w*",
        r"present\w*",
        r"tramit\w*",
        r"contracargo",
        r"denuncia\w*",
        r"deposer",
        r"deposez",
        r"litige",
        r"opposition",
        r"signal\w*",
        r"reklamier\w*",
        r"einreich\w*",
        r"beantrag\w*",
        r"beschwer\w*",
        r"widerspruch",
        r"schadensmeldung",
        r"antrag",
    ],
    "DETAILS": [
        r"zzcontact",
        r"number",
        r"helpline",
        r"hotline",
        r"website",
        r"web form",
        r"online form",
        r"form",
        r"portal",
        r"address",
        r"numero",
        r"telefono",
        r"formulario",
        r"pagina web",
        r"site",
        r"formulaire",
        r"adresse",
        r"nummer",
        r"rufnummer",
        r"webseite",
        r"formular",
        r"serviceportal",
        r"erreichen sie",
        r"can be (?:reached|contacted)",
        r"se puede contactar",
    ],
    "ONLY": [
        r"only",
        r"the (?:ones?|people|team) (?:to|who)",
        r"(?:is|are) responsible",
        r"(?:a matter|something|an issue|a question) for",
        r"up to",
        r"(?:handle|deal with)s?",
        r"solo",
        r"unicamente",
        r"cosa de",
        r"son ellos",
        r"se encarga\w*",
        r"seul\w*",
        r"c'est a",
        r"relev\w*",
        r"nur",
        r"zustandig",
        r"sache (?:des|der)",
        r"must be (?:raised|taken|directed|made|filed|handled)",
        r"has to be",
        r"needs to be",
        r"debe\w* (?:presentarse|tramitarse|dirigirse|hacerse)",
        r"doit etre",
        r"doivent etre",
        r"ist (?:uber|bei|beim) .{0,40} zu",
        r"zu (?:stellen|beantragen|klaren|richten)",
    ],
    "WE": [
        r"we(?:'ve|'ll|'re|'d)?",
        r"i(?:'ve|'ll|'m)?",
        r"our team",
        r"hemos",
        r"nosotros",
        r"(?:le )?(?:llamaremos|contactaremos|enviaremos)",
        r"nous",
        r"j'ai",
        r"wir",
        r"ich",
    ],
    "OURS": [
        r"us",
        r"our",
        r"this number",
        r"this (?:chat|email|message|thread|ticket)",
        r"here",
        r"nos",
        r"nuestr\w*",
        r"este (?:numero|correo|chat)",
        r"notre",
        r"nos equipes",
        r"ici",
        r"uns",
        r"unser\w*",
        r"hier",
    ],
    "PARTY": [
        r"(?:your|the|their|su|sus|el|la|los|las|del|al|votre|vos|le|les|du|au|aux|ihre\w*|"
        r"ihr|die|der|den|dem|des|das|beim|bei der|bei dem|zum|zur|an den|an die)"
        r" (?:[a-z'-]+ )?(?:bank\w*|card|issuer|manufacturer|maker|seller|retailer|courier|insurer"
        r"|insurance|airline|landlord|provider|carrier|dealer\w*|merchant|vendor|store|shop"
        r"|council|employer|gp|doctor|ombudsman|installer|supplier|garage|agent|agency|broker"
        r"|network|operator|company|firm|service|department|team|office|authority|lender"
        r"|banco|entidad|fabricante|vendedor|aseguradora|tienda|compania|proveedor\w*|empresa"
        r"|transportista|mensajeria|aerolinea|casero|concesionario|servicio|comercializadora"
        r"|ayuntamiento|banque|fabricant|vendeur|assur\w*|magasin|transporteur|fournisseur"
        r"|bailleur|proprietaire|compagnie|concessionnaire|operateur|mairie|service|emetteur"
        r"|hersteller\w*|verkaufer|verkaeufer|versicherung|handler|haendler|vermieter\w*"
        r"|anbieter\w*|paketdienst\w*|fluggesellschaft|werkstatt|autohaus|hausverwaltung"
        r"|stadtwerke\w*|netzbetreiber|kartenaussteller\w*|post|kundendienst|kundenservice)",
    ],
    "YOU": [r"you", r"usted", r"vous", r"sie", r"du"],
    "FUTURE": [
        r"will",
        r"'ll",
        r"is going to",
        r"are going to",
        r"shall",
        r"(?:\w+)aran?",
        r"(?:\w+)eran?",
        r"va a",
        r"van a",
        r"(?:\w+)ront?",
        r"va ",
        r"vont",
        r"wird",
        r"werden",
    ],
}


def _compile(alternatives: list[str]) -> re.Pattern[str]:
    ordered = sorted(alternatives, key=len, reverse=True)  # "reach out" before "reach"
    return re.compile(r"(?<![\w'])(?:" + "|".join(ordered) + r")(?![\w'])")


# One pattern per class: Python's engine runs a dozen small alternations much faster than one
# large one, which keeps a text under a millisecond.
_TAGS = [(name, _compile(alternatives)) for name, alternatives in _CLASSES.items()]


def tagged(clause: str) -> list[str]:
    """The clause's words, each run that belongs to a class replaced by the class's name; where
    two classes overlap, the one that starts first wins, then the one listed first."""
    found = sorted(
        (m.start(), rank, m.end(), name)
        for rank, (name, pattern) in enumerate(_TAGS)
        for m in pattern.finditer(clause)
    )
    out: list[str] = []
    last = 0
    for start, _, end, name in found:
        if start < last:
            continue
        out += clause[last:start].split()
        out.append(name)
        last = end
    out += clause[last:].split()
    return out


# A party is also "them" or "they" once named, or the owner of a team: "the council's team".
_PARTY = re.compile(
    r"(?<![\w'])(?:" + "|".join(_CLASSES["PARTY"]) + r"|them|they|their|ellos|eux|ihnen|denen)"
    r"(?:'s)?(?![\w'])"
)
# A name inside a sentence ("reach out to Visa", "Lucia from Banco Sabadell"), not its first word.
_NAME = re.compile(r"(?<=[\w,'\"]\s)(?!(?:I|I'm|I'd|I'll|I've|We|Our|Us|OK)\b)[A-Z][\w&'-]+")


def names_another_party(seen: str) -> bool:
    """Whether the text names someone other than us: "your bank", "the courier", "Visa"."""
    return bool(_PARTY.search(seen.lower()) or _NAME.search(seen))


_CUES = {"CONTACT", "CLAIM", "DETAILS", "ONLY"}


def mentions_dealing_with_someone(clause: str) -> bool:
    """Whether a clause speaks of contacting, claiming, contact details or who is responsible."""
    return any(tag in _CUES for tag in tagged(clause.lower()))
