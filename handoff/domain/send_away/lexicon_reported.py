"""Reported history as a word class (REPORTED): what the customer, or someone else, said was
said or done before ("you told us", "the customer said their bank told them to call us", "el
cliente comenta que", "la cliente explique que", "der Kunde sagt"). Written as the text is seen:
lowercase ASCII."""

REPORTED: list[str] = [
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
    # Someone else's account of what happened: "the customer said their bank told them to".
    r"(?:the )?(?:customer|caller|client|cx|member|tenant|passenger)(?: \w+)?"
    r" (?:said|says|stated|states|mentioned|mentions|explained|explains|reports|reported"
    r"|told us|advised|claims|claimed|confirmed|informed us)",
    r"(?:according to|per) the (?:customer|caller|client)",
    r"(?:she|he|they) (?:said|says|explained|mentioned|stated|had been told|was told"
    r"|were told)",
    r"(?:had|has|have|was|were) (?:been )?(?:told|advised|asked|sent|referred|pointed"
    r"|directed)",
    r"(?:told|advised|asked|sent|referred|pointed|directed) (?:her|him|them) (?:to|back|over)",
    r"(?:el|la) (?:cliente|clienta|usuario|usuaria|titular) (?:dice|comenta|explica|cuenta"
    r"|indica|afirma|senala|refiere|manifiesta)",
    r"segun (?:el|la) (?:cliente|clienta|usuario|usuaria)",
    r"(?:le|la|lo) (?:dijo|indico|aconsejo|mando|remitio|pidio|derivo|recomendo)",
    r"(?:le|la|lo) (?:habia|han|ha) (?:dicho|indicado|aconsejado|remitido|derivado|pedido)",
    r"(?:le|la) client\w* (?:dit|indique|explique|raconte|precise|signale|affirme|rapporte)",
    r"(?:d'apres|selon) (?:le|la) client\w*",
    r"lui (?:a|avait) (?:dit|conseille|demande|indique|recommande)",
    r"l'(?:a|avait) (?:renvoye|oriente|redirige)\w*",
    r"(?:der|die) (?:kunde|kundin|anrufer\w*|mieter\w*) (?:sagt|berichtet|erzahlt|erzaehlt"
    r"|gibt an|meint|erklart|erklaert|teilt mit|schreibt)",
    r"laut (?:kunde|kundin|kunden|anrufer\w*)",
    r"(?:habe|hatte|hat) (?:ihr|ihm|sie|ihn) (?:\w+ )?(?:gesagt|geraten|gebeten|verwiesen"
    r"|geschickt|empfohlen)",
]
