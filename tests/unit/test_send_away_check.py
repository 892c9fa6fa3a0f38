"""The send-away check knows who is asked to act, in four languages, and says why it refused."""

import json
from pathlib import Path

import pytest

from handoff.domain.send_away import SendAwayMatch, find_send_away, load_rules
from handoff.domain.send_away.evaluate import Example, Figures
from tools.send_away_corpus import corpus, in_dev_split

SENDS_AWAY_BY_SHAPE = {
    "imperative": "Open a dispute with PayPal if nothing arrives.",
    "only the other party can": "Only the airline can rebook your flight.",
    "passive": "This must be raised with your insurer.",
    "another party's details handed over": (
        "The seller's returns team can be reached at returns@shop.com."
    ),
    "have them call us": "Have your bank call us on 0800 123 123.",
    "informal": "pls call ur bank",
    "later sentence": "We checked the order. Please contact the manufacturer.",
    "Spanish": "Debe presentar la reclamación ante la aerolínea.",
    "French": "Veuillez contacter votre banque.",
    "German": "Bitte wenden Sie sich an Ihre Bank.",
    "a German compound naming the party": (
        "Rückfragen zum Tarif sind Sache Ihres Energieversorgers."
    ),
    "a company named as the one to act": (
        "Vodafone would be the ones to unlock the handset, not us."
    ),
}

HONEST_BY_KIND = {
    "a contact verb as a noun": "Call volumes are high today.",
    "a product name": "Contact lenses dispatched today.",
    "a noun at the start": "Text alerts have been switched on.",
    "our own colleagues": "Speak to any of our in-store colleagues.",
    "the other party acts for the customer": "The bank will call you tomorrow.",
    "reported history": "You told us your bank asked you to call us.",
    "asking for something we need": "Please send us the receipt so we can claim from the courier.",
    "we acted, Spanish": "Hemos contactado con su banco.",
    "we acted, French": "Nous avons contacté votre banque.",
    "we acted, German": "Wir haben Ihre Bank kontaktiert.",
    "a number without another party": "Please call 0800 123 456 if the part has not arrived.",
    "a noun phrase after a contact verb": "Contact form on our website is working again.",
    "a list of products": "Phone case and screen protector refunded in full.",
    "someone else's account of what was said": (
        "The customer said their bank told them to call us about the charge."
    ),
    "German nouns with capitals, nobody named": "Bitte prüfen Sie den Sicherungskasten.",
    "an informal Spanish negation": (
        "No tienes que contactar con el transportista, nosotros gestionamos la recogida."
    ),
}


@pytest.mark.parametrize("text", SENDS_AWAY_BY_SHAPE.values(), ids=SENDS_AWAY_BY_SHAPE.keys())
def test_each_shape_of_send_away_is_refused(text: str) -> None:
    assert find_send_away(text) is not None


@pytest.mark.parametrize("text", HONEST_BY_KIND.values(), ids=HONEST_BY_KIND.keys())
def test_each_kind_of_false_alarm_is_accepted(text: str) -> None:
    assert find_send_away(text) is None


def test_a_model_refusal_quotes_the_clause_that_decided_it_and_its_score() -> None:
    # (Its earlier example, "Only the airline can rebook your flight", is now a rule's: below.)
    match = find_send_away("Thanks. The airline handles rebookings, their desk is in T2.")

    assert match is not None
    assert match.phrase == "The airline handles rebookings"
    assert match.rule.startswith("model:")
    assert 0.5 <= float(match.rule.removeprefix("model:")) <= 1.0


def test_a_rule_refusal_names_the_rule_before_the_model_is_asked() -> None:
    assert find_send_away("Sorry. Kindly contact your bank.") == SendAwayMatch(
        phrase="Kindly contact your bank", rule="imperative_contact"
    )


def test_a_deployment_file_adds_a_language_as_data(tmp_path: Path) -> None:
    text = "Per favore contatti la sua banca."
    assert find_send_away(text) is None
    extra = tmp_path / "italiano.json"
    extra.write_text(
        json.dumps({"contact_verbs": ["contatti"], "lead_ins": ["per favore"]}), encoding="utf-8"
    )

    assert find_send_away(text, load_rules(extra)) == SendAwayMatch(
        phrase="Per favore contatti la sua banca", rule="imperative_contact"
    )


def _dev_figures() -> dict[str, Figures]:
    figures: dict[str, Figures] = {}
    for example in (e for e in corpus() if in_dev_split(e)):
        lang = figures.setdefault(example.lang, Figures(example.lang))
        lang.count(example, find_send_away(example.text))
    return figures


def test_on_the_dev_split_the_check_keeps_its_figures() -> None:
    """A regression guard on a fixed fifth of the corpus (once the dev split; since the trainer
    chooses by cross-validation the shipped model is trained on these texts too, so these are
    not held-out figures): English, then the other three languages together."""
    figures = _dev_figures()
    english = figures["en"]
    others = Figures("es+fr+de")
    for lang in ("es", "fr", "de"):
        for attr in ("true_pos", "false_pos", "false_neg", "true_neg"):
            setattr(others, attr, getattr(others, attr) + getattr(figures[lang], attr))

    assert english.precision >= 0.90, english
    assert english.recall >= 0.85, english
    assert others.precision >= 0.85, others
    assert others.recall >= 0.65, others


def test_a_text_is_in_the_dev_split_or_not_by_its_words_alone() -> None:
    example = Example("Please call your bank.", True)
    assert in_dev_split(example) == in_dev_split(Example(example.text, False, "fr"))
