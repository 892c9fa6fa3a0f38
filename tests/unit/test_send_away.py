"""The send-away check refuses text that tells the customer to go and contact another party."""

import json
from pathlib import Path

import pytest

from handoff.domain.send_away import SendAwayMatch, default_rules, find_send_away, load_rules

SENDS_THE_CUSTOMER_AWAY = [
    # The wordings from the product brief.
    "please call your bank",
    "Please contact your bank about the pending charge.",
    "you'll need to contact the manufacturer",
    "You will need to contact the manufacturer directly.",
    "reach out to Visa",
    "Reach out to Visa for the refund.",
    "get in touch with the card issuer",
    "speak to the seller",
    "Contact the manufacturer for a replacement part.",
    "You should call First Bank.",
    "I suggest you phone your card company.",
    "Your best option is to email the vendor.",
    "Try calling your bank.",
    "you have to talk to the dealer",
    "Kindly contact your bank.",
    "The refund is pending; please reach out to your card issuer.",
    "You can dispute it with your bank.",
    # More real wordings.
    "You\u2019ll need to contact the manufacturer.",  # curly apostrophe
    "PLEASE   CALL   YOUR   BANK",  # shouting and extra spaces
    "We're sorry for the delay. Call your bank and ask them to release the hold.",
    "Unfortunately this is outside our control, so you'll have to take it up with the airline.",
    "I'd recommend you ring your card provider today.",
    "I recommend contacting the retailer directly.",
    "It's best to check with your insurer before booking the repair.",
    "You may want to get hold of the courier about the missing parcel.",
    "Feel free to reach out to the merchant if the refund doesn't show.",
    "Please don't hesitate to contact your bank.",
    "Just email the vendor and they will sort it out.",
    "- Phone the manufacturer's helpline",
    "If the charge is still there on Monday, call your bank.",
    "Once you have the receipt, get in touch with the seller.",
    "You could try speaking to the store manager.",
    "You must file a claim with the carrier within 14 days.",
    "Your next step is to raise it with your landlord.",
    "You'd need to visit your local branch.",
    "Please let your bank know about the duplicate charge.",
    "You can dispute the charge with your card issuer.",
    "Your bank is best placed to help with this.",
    "This is a matter for your insurer.",
    "All you need to do is call the dealership.",
    "Make sure you notify your bank of the fraud.",
    "First, contact the shipping company.",
    "You should first contact Acme Corp.",
    "Consider reaching out to the landlord.",
    "You can send it back to the retailer for a refund.",
    "We cannot help with this. Please contact PayPal.",
    "Your bank can help you with that, please contact them.",
    "You might want to give your bank a call.",
    "Drop the seller an email.",
    "Best to call your bank.",
    "You\u2019d be best off calling your bank.",
    "Ring your GP.",
    "Kindly  reach  out  to  the  merchant.",
]

HONEST = [
    # The wordings from the product brief.
    "we called your bank for you",
    "the manufacturer will contact you",
    "I have contacted First Bank",
    "We reached out to Visa on your behalf.",
    "First Bank will call you within two days.",
    "Our team contacted the manufacturer and a part is on its way.",
    "The seller has been in touch with us.",
    "We spoke to the card issuer; the hold is released.",
    "No need to call anyone: we handle it.",
    "You don't need to contact your bank.",
    "You do not need to call the manufacturer; we did.",
    "Please contact us if anything else comes up.",
    "Please call us back on this number.",
    "Reply to this message if it is still broken.",
    "The charge was credited.",
    "",
    "   \n\t ",
    # More honest wordings: we act, they act, or the customer contacts us.
    "You don\u2019t need to contact your bank.",  # curly apostrophe
    "There's no need to call the manufacturer; we already did.",
    "Never mind the letter from the bank: we have settled it.",
    "Please don't call your bank, we have it in hand.",
    "Please do not reach out to Visa; we are handling the dispute.",
    "We will call the seller, email the manufacturer and report back tomorrow.",
    "The bank will reach out to you by email.",
    "Email sent to your bank on Monday.",
    "Call logged with the card issuer.",
    "Contact details updated.",
    "Feel free to reach out to our team at any time.",
    "You can also visit our website for updates.",
    "Text us at this number if anything changes.",
    "Call me directly if the part does not arrive.",
    "If the refund has not arrived by Friday, we will call your bank again.",
    "When we called the seller, they agreed to refund you in full.",
    "Next step: we contact the manufacturer and book the engineer.",
    "We are best placed to help with this.",
    "Please allow three days while we speak to the courier.",
    "Your bank confirmed the refund and the seller apologised.",
    "No need to feel you have to call your bank; we've done it.",
    "Please contact support if the charge comes back.",
    "You can reach us any time.",
    "Do you need to call your bank? No, we did.",
    "We will give your bank a call.",
    "We thought it best to call your bank ourselves.",
    "Please call 0800 123 456 if the part has not arrived.",
    "Please call back later.",
    "Please reply here and we will ring the courier.",
    "You asked us to contact your bank, which we did.",
    "Visiting engineer booked for Tuesday.",
    "Please let me know if that works.",
]


@pytest.mark.parametrize("text", SENDS_THE_CUSTOMER_AWAY)
def test_refuses_text_that_sends_the_customer_to_another_party(text: str) -> None:
    assert find_send_away(text) is not None


@pytest.mark.parametrize("text", HONEST)
def test_accepts_honest_text(text: str) -> None:
    assert find_send_away(text) is None


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("please call your bank", "please call your bank"),
        ("Please contact your bank about the pending charge.", "Please contact your bank"),
        ("Reach out to Visa for the refund.", "Reach out to Visa"),
        (
            "It's pending; PLEASE  reach out to Your Card Issuer.",
            "PLEASE  reach out to Your Card Issuer",
        ),
        ("You\u2019ll need to call First Bank.", "You\u2019ll need to call First Bank"),
    ],
)
def test_the_match_quotes_the_phrase_as_written(text: str, phrase: str) -> None:
    assert find_send_away(text) == SendAwayMatch(phrase=phrase, rule="imperative_contact")


# The same wordings with characters that change nothing a reader sees.
HIDDEN_OR_LOOK_ALIKE = [
    ("Plea\u200bse call your bank.", "Plea\u200bse call your bank"),  # zero-width space
    ("Please c\u00adall your bank.", "Please c\u00adall your bank"),  # soft hyphen
    ("Please call\u2060 your bank.", "Please call\u2060 your bank"),  # word joiner
    ("\uff30lease call your bank.", "\uff30lease call your bank"),  # full-width P
    ("Please c\u0430ll your bank.", "Please c\u0430ll your bank"),  # Cyrillic a
    ("Please cal\u0301l your bank.", "Please cal\u0301l your bank"),  # combining accent
    ("Please call\u00a0your bank.", "Please call\u00a0your bank"),  # no-break space
    ("Done.\n\u2022 Call your bank.", "Call your bank"),  # a bullet
    ("Done. \u2018Call your bank.\u2019", "Call your bank"),  # in curly quotes
]


@pytest.mark.parametrize(("text", "phrase"), HIDDEN_OR_LOOK_ALIKE)
def test_hidden_or_look_alike_characters_do_not_get_a_wording_past_the_check(
    text: str, phrase: str
) -> None:
    assert find_send_away(text) == SendAwayMatch(phrase=phrase, rule="imperative_contact")


@pytest.mark.parametrize(
    "text",
    ["Caf\u00e9 voucher sent.", "Le remboursement est en cours.", "\u9000\u6b3e\u5df2\u5904\u7406"],
)
def test_honest_text_in_other_letters_stays_honest(text: str) -> None:
    assert find_send_away(text) is None


def test_a_match_names_the_pattern_that_caught_it() -> None:
    match = find_send_away("If it breaks again, call the manufacturer.")
    assert match == SendAwayMatch(phrase="call the manufacturer", rule="conditional_imperative")


def test_the_built_in_rules_are_loaded_once() -> None:
    assert default_rules() is default_rules()


def test_a_deployment_file_adds_a_wording_that_is_then_refused(tmp_path: Path) -> None:
    # Gary, not "the landlord": the built-in model now refuses "pester the landlord" unaided, and
    # only the deployment knows who Gary is.
    text = "You will want to pester Gary. Then go see Gary."
    assert find_send_away(text) is None
    extra = tmp_path / "rules.json"
    extra.write_text(
        json.dumps(
            {
                "_note": "our customers say 'pester' and 'go see'",
                "contact_verbs": ["pester"],
                "patterns": [{"id": "go_see", "regex": "{start}go see {party}"}],
            }
        ),
        encoding="utf-8",
    )
    rules = load_rules(extra)
    assert find_send_away(text, rules) == SendAwayMatch(
        phrase="You will want to pester Gary", rule="imperative_contact"
    )
    assert find_send_away("Then go see Gary.", rules) == SendAwayMatch(
        phrase="Then go see Gary", rule="go_see"
    )
    # The built-in wordings still apply alongside the deployment's.
    assert find_send_away("please call your bank", rules) is not None


def test_a_deployment_wording_with_accents_is_refused_however_it_is_typed(tmp_path: Path) -> None:
    extra = tmp_path / "rules.json"
    extra.write_text(
        json.dumps(
            {
                "contact_verbs": ["póngase en contacto con"],
                "patterns": [{"id": "llame", "regex": "{start}llame a {party}"}],
                "lead_ins": ["por favor,"],
            }
        ),
        encoding="utf-8",
    )
    rules = load_rules(extra)

    accented = find_send_away("Por favor, póngase en contacto con su banco.", rules)
    plain = find_send_away("Por favor, pongase en contacto con su banco.", rules)

    assert accented == SendAwayMatch(
        phrase="Por favor, póngase en contacto con su banco", rule="imperative_contact"
    )
    assert plain is not None
    assert find_send_away("Llame a su banco.", rules) == SendAwayMatch(
        phrase="Llame a su banco", rule="llame"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "top level must be a JSON object"),
        ('{"contact_verb": ["pester"]}', "unknown key"),
        ('{"contact_verbs": "pester"}', "'contact_verbs' must be a list"),
        ('{"lead_ins": ["please", ""]}', "'lead_ins' must be a list"),
        ('{"patterns": [{"regex": "x"}]}', "pattern #1 needs a text 'id'"),
        ('{"patterns": [{"id": "bad", "regex": "(unclosed"}]}', "not a valid regular expression"),
        ('{"patterns": [{"id": "imperative_contact", "regex": "x"}]}', "duplicate pattern id"),
    ],
)
def test_a_malformed_deployment_file_gives_a_clear_error(
    tmp_path: Path, content: str, problem: str
) -> None:
    extra = tmp_path / "broken_rules.json"
    extra.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken_rules\.json") as caught:
        load_rules(extra)
    assert problem in str(caught.value)


def test_a_missing_deployment_file_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nowhere\.json: cannot be read"):
        load_rules(tmp_path / "nowhere.json")
