"""The send-away check in Spanish, French and German, and company names as the other party: each
shape is refused by a rule of its own language, which quotes the deciding words and names itself;
what we did, what the other party will do, negations and invitations to contact us are accepted."""

import json
from pathlib import Path

import pytest

from handoff.domain.send_away import find_send_away, load_rules

# (text, the rule that must refuse it, the words it must quote)
REFUSED = {
    "es imperative, usted": (
        "Por favor, póngase en contacto con su banco.",
        "imperative_contact_es",
        "Por favor, póngase en contacto con su banco",
    ),
    "es imperative after a clause": (
        "Para el cambio de titular, diríjase a su compañía eléctrica.",
        "imperative_after_clause_es",
        "diríjase a su compañía eléctrica",
    ),
    "es advice": (
        "Le recomendamos contactar con el fabricante.",
        "imperative_contact_es",
        "Le recomendamos contactar con el fabricante",
    ),
    "es only they can": ("Solo su banco puede anular el cargo.", "only_party_es", "su banco puede"),
    "es passive": (
        "La reclamación debe presentarse ante la aerolínea.",
        "passive_before_party_es",
        "debe presentarse ante la aerolínea",
    ),
    "es claim": (
        "Puede presentar una reclamación ante Iberia.",
        "claim_elsewhere_es",
        "presentar una reclamación ante Iberia",
    ),
    "fr imperative, vous": (
        "Adressez-vous à votre assureur.",
        "imperative_contact_fr",
        "Adressez-vous à votre assureur",
    ),
    "fr advice": (
        "Nous vous conseillons de contacter votre banque.",
        "imperative_contact_fr",
        "Nous vous conseillons de contacter votre banque",
    ),
    "fr elision": (
        "Rapprochez-vous d'Enedis pour la mise en service.",
        "imperative_contact_fr",
        "Rapprochez-vous d'Enedis",
    ),
    "fr only they can": (
        "Seul votre opérateur peut débloquer la ligne.",
        "only_party_fr",
        "votre opérateur peut",
    ),
    "fr passive": (
        "La demande doit être adressée au transporteur.",
        "must_be_sent_to_party_fr",
        "doit être adressée au transporteur",
    ),
    "fr claim": (
        "Vous pouvez faire opposition auprès de votre banque.",
        "imperative_contact_fr",
        "Vous pouvez faire opposition auprès de votre banque",
    ),
    "de imperative, Sie": (
        "Wenden Sie sich bitte an Ihre Bank.",
        "imperative_contact_de",
        "Wenden Sie sich bitte an Ihre Bank",
    ),
    "de separable verb": (
        "Rufen Sie bitte Ihre Bank an.",
        "call_them_up_de",
        "Rufen Sie bitte Ihre Bank an",
    ),
    "de advice, verb last": (
        "Sie sollten sich an den Hersteller wenden.",
        "advice_then_verb_de",
        "Sie sollten sich an den Hersteller wenden",
    ),
    "de responsible": (
        "Dafür ist die Hausverwaltung zuständig.",
        "party_responsible_de",
        "ist die Hausverwaltung zuständig",
    ),
    "de passive": (
        "Der Antrag ist beim Netzbetreiber zu stellen.",
        "passive_at_party_de",
        "ist beim Netzbetreiber zu stellen",
    ),
    "en company as subject": (
        "Apple is the one who can help.",
        "party_is_the_one",
        "Apple is the one who can help",
    ),
    "en only a company can": (
        "Only Visa can reverse it.",
        "only_party_can",
        "Only Visa can reverse it",
    ),
    "es company as subject": (
        "Apple es quien puede ayudarle.",
        "party_is_the_one_es",
        "Apple es quien",
    ),
    "fr company as subject": (
        "C'est Apple qui peut vous aider.",
        "it_is_party_who_fr",
        "Apple qui peut",
    ),
    "de company as subject": ("Nur Apple kann Ihnen helfen.", "only_party_de", "Apple kann"),
}

ACCEPTED = {
    "es we acted": "Hemos llamado a su banco y anularán el cargo mañana.",
    "es they will act": "Su banco le llamará mañana para confirmar la anulación.",
    "es negation": "No hace falta que llame a su banco, ya lo hemos hecho nosotros.",
    "es contact us": "Póngase en contacto con nosotros si necesita algo más.",
    "fr we acted": "Nous avons contacté votre banque ce matin.",
    "fr negation": "Inutile d'appeler votre banque, nous lui avons écrit.",
    "fr contact us": "N'hésitez pas à nous contacter au 01 23 45 67 89.",
    "de we acted": "Wir haben Ihre Bank heute angerufen.",
    "de negation": "Sie müssen Ihre Bank nicht anrufen, das haben wir erledigt.",
    "de contact us": "Bei Fragen wenden Sie sich bitte an uns.",
    "en we are the ones": "We are the ones who can help, so reply here.",
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_each_shape_is_refused_by_its_languages_rule_quoting_its_words(
    case: tuple[str, str, str],
) -> None:
    text, rule, phrase = case
    match = find_send_away(text)

    assert match is not None
    assert (match.rule, match.phrase) == (rule, phrase)


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_our_side_their_side_negations_and_contact_us_are_accepted(text: str) -> None:
    assert find_send_away(text) is None


def test_accents_are_optional_in_every_language() -> None:
    assert find_send_away("Pongase en contacto con su banco.") is not None
    assert find_send_away("Veuillez prevenir votre assureur.") is not None
    assert find_send_away("Sie muessen sich an den Hersteller wenden.") is not None


def test_a_deployment_adds_a_language_with_its_articles_markers_and_a_quick_test(
    tmp_path: Path,
) -> None:
    text = "Per favore contatti la sua banca."
    assert find_send_away(text) is None
    extra = tmp_path / "rules.it.json"
    extra.write_text(
        json.dumps(
            {
                "contact_verbs": ["contatti", "si rivolga a"],
                "lead_ins": ["per favore"],
                "determiners": ["la", "il", "sua", "suo"],
                "not_a_party": ["per"],
                "our_side": ["noi"],
                "patterns": [
                    {
                        "id": "solo_party_it",
                        "regex": r"\bsolo\s+(?P<phrase>{party}\s+pu[oò])",
                        "needs": ["solo"],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    rules = load_rules(extra)

    match = find_send_away(text, rules)
    assert match is not None
    assert (match.rule, match.phrase) == ("imperative_contact", "Per favore contatti la sua banca")
    assert find_send_away("Per favore si rivolga a noi.", rules) is None
    solo = find_send_away("Mi dispiace, solo la sua banca può farlo.", rules)
    assert solo is not None
    assert (solo.rule, solo.phrase) == ("solo_party_it", "la sua banca può")


def test_a_deployment_pattern_whose_quick_test_is_not_a_regex_is_named_on_loading(
    tmp_path: Path,
) -> None:
    extra = tmp_path / "rules.json"
    extra.write_text(
        json.dumps({"patterns": [{"id": "broken", "regex": "x", "needs": "(unclosed"}]}),
        encoding="utf-8",
    )

    with pytest.raises(ValueError, match="broken"):
        load_rules(extra)
