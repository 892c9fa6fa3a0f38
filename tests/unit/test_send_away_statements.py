"""Who is responsible, said and then acted on by us, is no send-away; said and left to the
customer, it is. A deployment's pattern may name an 'unless' of its own. Having another party
send us something is the customer's errand too."""

import json
from pathlib import Path

import pytest

from handoff.domain.send_away import find_send_away, load_rules
from handoff.domain.send_away.lexicon import blames_only
from handoff.domain.send_away.phrase_rules import default_rules, first_match
from handoff.domain.send_away.text import as_meant, as_seen

# (the statement alone, caught by its rule; the same followed by us acting; the rule)
STATED_THEN_WE_ACT = {
    "en only they can": (
        "Only your bank can see the full card number.",
        "Only your bank can see the full card number, so we've asked them to confirm it to us.",
        "only_party_can",
    ),
    "es responsible": (
        "El casero es el responsable de la caldera.",
        "El casero es el responsable de la caldera y ya le hemos avisado.",
        "party_is_the_one_es",
    ),
    "fr belongs to": (
        "Il appartient au vendeur de vous rembourser.",
        "Il appartient au vendeur de vous rembourser, et nous l'avons relancé ce matin.",
        "belongs_to_party_fr",
    ),
    "fr responsible": (
        "Le propriétaire est responsable de l'entretien.",
        "Le propriétaire est responsable de l'entretien ; il a été prévenu par nos soins.",
        "party_is_the_one_fr",
    ),
    "de responsible": (
        "Für die Reparatur ist eigentlich die Werkstatt zuständig.",
        "Für die Reparatur ist eigentlich die Werkstatt zuständig, aber wir haben den Termin "
        "bereits für Sie vereinbart.",
        "party_responsible_de",
    ),
}


def _rule_for(text: str) -> str | None:
    found = first_match(as_meant(*as_seen(text))[0], default_rules())
    return found.rule if found else None


@pytest.mark.parametrize("case", STATED_THEN_WE_ACT.values(), ids=STATED_THEN_WE_ACT.keys())
def test_a_statement_of_who_followed_by_us_acting_is_not_a_rules_refusal(
    case: tuple[str, str, str],
) -> None:
    stated, then_we_act, rule = case

    assert _rule_for(stated) == rule
    assert _rule_for(then_we_act) is None


def test_blame_is_no_rule_of_who_can_help_in_french() -> None:
    assert _rule_for("C'est le transporteur qui a abîmé le colis.") is None
    assert _rule_for("C'est votre banque qui peut annuler ce prélèvement.") == "it_is_party_who_fr"


def test_left_to_the_customer_it_is_still_refused() -> None:
    match = find_send_away("Only your bank can reverse the payment. Please give them a call.")
    assert match is not None


def test_a_deployment_pattern_may_name_an_unless(tmp_path: Path) -> None:
    extra = tmp_path / "rules.json"
    extra.write_text(
        json.dumps(
            {
                "we_act": [r"\bwe\s+sorted\b"],
                "patterns": [
                    {"id": "gary_rule", "regex": r"\bgary\s+decides\b", "unless": "{we_act}"}
                ],
            }
        ),
        encoding="utf-8",
    )
    rules = load_rules(extra)

    assert first_match("gary decides the fee", rules) is not None
    assert first_match("gary decides the fee, and we sorted it with him", rules) is None


def test_an_unless_that_is_not_a_regex_is_named_on_loading(tmp_path: Path) -> None:
    extra = tmp_path / "rules.json"
    extra.write_text(
        json.dumps({"patterns": [{"id": "broken_unless", "regex": "x", "unless": "(unclosed"}]}),
        encoding="utf-8",
    )

    with pytest.raises(ValueError, match="broken_unless"):
        load_rules(extra)


def test_having_another_party_send_us_something_is_refused_in_english() -> None:
    match = find_send_away("Have the school's bursar email us the term dates.")
    assert match is not None
    assert (match.rule, match.phrase) == ("have_them_send_us", "Have the school's bursar email us")
    assert find_send_away("We'll ask your bank to send us the statement.") is None


def test_blame_alone_is_accepted_and_blame_then_pointing_is_refused() -> None:
    assert blames_only("The courier is the one who lost it")
    assert not blames_only("DPD lost it so speak to them")
    assert not blames_only("The courier lost it, so you will need to claim from them")
    assert find_send_away("The courier is the one who lost it.") is None
    assert find_send_away("The courier lost it, so you will need to claim from them.") is not None
