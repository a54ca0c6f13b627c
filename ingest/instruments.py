"""The registry of legal instruments that reports cite, and resolution of their names.

An Instrument has a stable id ("ICCPR", "ILO-C029", "KZ-CRIMINAL-CODE") and regex aliases.
Names are resolved by scanning for aliases (leftmost-longest match wins), so that
"Protocol of 2014 to the Forced Labour Convention" is P029, not C029.

National codes and laws share generic aliases ("labour code", "criminal code"): their country
must be named in the mention ("of the Republic of Kazakhstan", "Kazakhstan's", "Kyrgyz") or
given by the caller (the jurisdiction of the report); otherwise the name stays unresolved.
ILO conventions are recognised by number ("Convention N°97", "C097", "(No. 97)") even when they
have no registry entry: an entry with a generic name is generated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str  # full English name
    short: str  # short citation form: "ICCPR", "ILO C029", "KZ Criminal Code"
    jurisdiction: str  # "international", "KZ", "KG", "EAEU"
    aliases: tuple[str, ...]  # regex alternatives, case-insensitive, anchored on word boundaries


@dataclass
class Mention:
    """An instrument named in a text: [start, end) and its id, or None when unidentifiable."""

    start: int
    end: int
    instrument: str | None
    text: str


NATIONAL = ("KZ", "KG")  # jurisdictions whose instruments need the country to be established

# Country words, used to qualify national instruments ("Kazakhstan's Labour Code").
# Other countries are listed so that "Labour Code of the Russian Federation" is never taken
# for Kazakhstan's just because the report is about Kazakhstan.
_COUNTRY_WORDS = {
    "KZ": r"kazakh(?:stan)?",
    "KG": r"kyrgyz(?:stan)?|kirghiz(?:ia)?",
    "RU": r"russia(?:n)?",
    "UZ": r"uzbek(?:istan)?",
    "TJ": r"tajik(?:istan)?",
    "TM": r"turkmen(?:istan)?",
    "BY": r"belarus(?:ian)?",
    "AM": r"armenia(?:n)?",
}
_ANY_COUNTRY = "|".join(_COUNTRY_WORDS.values())
_STATE = (rf"(?:the\s+)?(?:kyrgyz\s+republic|russian\s+federation"
          rf"|(?:republic\s+of\s+)?(?:{_ANY_COUNTRY}))")
_OF_STATE = rf"(?:of\s+{_STATE}\s+)?"  # "Law of the Republic of Kazakhstan “On ...”"
_Q = r"[\"“”]?"  # titles of laws are often quoted

# --- the registry -------------------------------------------------------------------------


def _i(id_: str, name: str, short: str, jurisdiction: str, *aliases: str) -> Instrument:
    return Instrument(id_, name, short, jurisdiction, aliases)


def _ilo(num: int, name: str, *aliases: str) -> Instrument:
    """A named ILO convention; its title ("Forced Labour Convention") is always an alias."""
    title = r"\s+".join(map(re.escape, name.split(",")[0].replace(" (Revised)", "").split()))
    title = title.replace("Labour", "labou?r").replace("Organise", "organi[sz]e")
    return _i(f"ILO-C{num:03d}", name, f"ILO C{num:03d}", "international", title, *aliases)


def _on(subject: str) -> str:
    """'ILO Convention on/concerning <subject>', the way reports paraphrase ILO titles."""
    return rf"convention\s+(?:on|concerning)\s+(?:the\s+)?{subject}"


INSTRUMENTS: list[Instrument] = [
    # UN treaties and declarations. Acronyms are case-sensitive ((?-i:...)): "CAT" is not "cat".
    _i("UDHR", "Universal Declaration of Human Rights", "UDHR", "international",
       r"universal\s+declaration\s+of\s+human\s+rights", r"(?-i:UDHR)"),
    _i("ICCPR", "International Covenant on Civil and Political Rights", "ICCPR", "international",
       r"international\s+covenant\s+on\s+civil\s+and\s+political\s+rights", r"(?-i:ICCPR)"),
    _i("ICCPR-OP1", "Optional Protocol to the International Covenant on Civil and Political "
       "Rights", "ICCPR-OP1", "international",
       r"(?:first\s+)?optional\s+protocol\s+to\s+the\s+(?:UN\s+)?(?:international\s+covenant\s+on"
       r"\s+civil\s+and\s+political\s+rights|(?-i:ICCPR))"),
    _i("ICCPR-OP2", "Second Optional Protocol to the International Covenant on Civil and "
       "Political Rights, aiming at the abolition of the death penalty", "ICCPR-OP2",
       "international",
       r"second\s+optional\s+protocol\s+to\s+the\s+(?:UN\s+)?(?:international\s+covenant\s+on"
       r"\s+civil\s+and\s+political\s+rights|(?-i:ICCPR))"),
    _i("ICESCR", "International Covenant on Economic, Social and Cultural Rights", "ICESCR",
       "international",
       r"international\s+covenant\s+on\s+economic,?\s+social,?\s+and\s+cultural\s+rights",
       r"(?-i:ICESCR)"),
    _i("ICESCR-OP", "Optional Protocol to the International Covenant on Economic, Social and "
       "Cultural Rights", "ICESCR-OP", "international",
       r"optional\s+protocol\s+to\s+the\s+(?:UN\s+)?(?:international\s+covenant\s+on\s+economic"
       r",?\s+social,?\s+and\s+cultural\s+rights|(?-i:ICESCR))"),
    _i("ICRMW", "International Convention on the Protection of the Rights of All Migrant Workers "
       "and Members of Their Families", "ICRMW", "international",
       r"international\s+convention\s+on\s+(?:the\s+)?(?:protection\s+of\s+(?:the\s+)?)?rights"
       r"\s+of\s+(?:all\s+)?migrant\s+workers\s+and\s+(?:members\s+of\s+)?their\s+families",
       r"(?:1990\s+)?migrant\s+workers['’]?\s+convention", r"(?-i:ICRMW)"),
    _i("CRC", "Convention on the Rights of the Child", "CRC", "international",
       r"convention\s+on\s+the\s+rights\s+of\s+the\s+child", r"(?-i:CRC)"),
    _i("CRC-OPSC", "Optional Protocol to the Convention on the Rights of the Child on the sale "
       "of children, child prostitution and child pornography", "CRC-OPSC", "international",
       r"optional\s+protocol\s+to\s+the\s+convention\s+on\s+the\s+rights\s+of\s+the\s+child\s+on"
       r"\s+the\s+sale\s+of\s+children"),
    _i("CRC-OPAC", "Optional Protocol to the Convention on the Rights of the Child on the "
       "involvement of children in armed conflict", "CRC-OPAC", "international",
       r"optional\s+protocol\s+to\s+the\s+convention\s+on\s+the\s+rights\s+of\s+the\s+child\s+on"
       r"\s+the\s+involvement\s+of\s+children"),
    _i("CEDAW", "Convention on the Elimination of All Forms of Discrimination against Women",
       "CEDAW", "international",
       r"convention\s+on\s+the\s+elimination\s+of\s+all\s+forms\s+of\s+discrimination\s+against"
       r"\s+women", r"(?-i:CEDAW)"),
    _i("ICERD", "International Convention on the Elimination of All Forms of Racial "
       "Discrimination", "ICERD", "international",
       r"(?:international\s+)?convention\s+on\s+the\s+elimination\s+of\s+all\s+forms\s+of\s+"
       r"racial\s+discrimination", r"(?-i:ICERD)"),
    _i("CAT", "Convention against Torture and Other Cruel, Inhuman or Degrading Treatment or "
       "Punishment", "CAT", "international",
       r"convention\s+against\s+torture(?:\s+and\s+other\s+cruel,?\s+inhuman\s+or\s+degrading"
       r"\s+treatment\s+or\s+punishment)?", r"(?-i:CAT)"),
    _i("OPCAT", "Optional Protocol to the Convention against Torture and Other Cruel, Inhuman "
       "or Degrading Treatment or Punishment", "OPCAT", "international",
       r"optional\s+protocol\s+to\s+the\s+convention\s+against\s+torture(?:\s+and\s+other\s+cruel"
       r",?\s+inhuman\s+or\s+degrading\s+treatment\s+or\s+punishment)?", r"(?-i:OPCAT)"),
    _i("CRPD", "Convention on the Rights of Persons with Disabilities", "CRPD", "international",
       r"convention\s+on\s+the\s+rights\s+of\s+persons\s+with\s+disabilities", r"(?-i:CRPD)"),
    _i("REFUGEE-CONVENTION", "Convention relating to the Status of Refugees", "1951 Refugee "
       "Convention", "international",
       r"convention\s+relating\s+to\s+the\s+status\s+of\s+refugees",
       r"(?:1951\s+)?refugee\s+convention"),
    _i("SLAVERY-CONVENTION", "Slavery Convention", "Slavery Convention 1926", "international",
       r"(?:1926\s+)?slavery\s+convention"),
    _i("SUPPLEMENTARY-SLAVERY-CONVENTION", "Supplementary Convention on the Abolition of "
       "Slavery, the Slave Trade, and Institutions and Practices Similar to Slavery",
       "Supplementary Slavery Convention 1956", "international",
       r"supplementary\s+convention\s+on\s+the\s+abolition\s+of\s+slavery(?:,?\s+the\s+slave"
       r"\s+trade,?\s+and\s+institutions\s+and\s+practices\s+similar\s+to\s+slavery)?",
       r"supplementary\s+slavery\s+convention"),
    _i("UNTOC", "United Nations Convention against Transnational Organized Crime", "UNTOC",
       "international",
       r"convention\s+against\s+transnational\s+organi[sz]ed\s+crime", r"palermo\s+convention",
       r"(?-i:UNTOC)"),
    # The protocol's full title ends with the UNTOC's name: the long alias swallows it.
    _i("PALERMO-PROTOCOL", "Protocol to Prevent, Suppress and Punish Trafficking in Persons, "
       "especially Women and Children, supplementing the United Nations Convention against "
       "Transnational Organized Crime", "Palermo Protocol", "international",
       r"protocol\s+to\s+prevent,?\s+suppress\s+and\s+punish\s+trafficking\s+in\s+persons(?:,?"
       r"\s+especially\s+women\s+and\s+children)?(?:,?\s+supplementing\s+the\s+(?:UN|united\s+"
       r"nations)\s+convention\s+against\s+transnational\s+organi[sz]ed\s+crime)?",
       r"palermo\s+protocol", r"trafficking\s+in\s+persons\s+protocol",
       r"(?:UN\s+)?protocol\s+on\s+trafficking\s+in\s+persons"),
    _i("SMUGGLING-PROTOCOL", "Protocol against the Smuggling of Migrants by Land, Sea and Air, "
       "supplementing the United Nations Convention against Transnational Organized Crime",
       "Smuggling of Migrants Protocol", "international",
       r"protocol\s+against\s+the\s+smuggling\s+of\s+migrants(?:\s+by\s+land,?\s+sea\s+and\s+air)?"
       r"(?:,?\s+supplementing\s+the\s+(?:UN|united\s+nations)\s+convention\s+against\s+"
       r"transnational\s+organi[sz]ed\s+crime)?", r"smuggling\s+of\s+migrants\s+protocol"),
    _i("UN-CHARTER", "Charter of the United Nations", "UN Charter", "international",
       r"charter\s+of\s+the\s+united\s+nations", r"(?:UN|united\s+nations)\s+charter"),
    # ILO: constitution, conventions, protocol
    _i("ILO-CONSTITUTION", "Constitution of the International Labour Organization",
       "ILO Constitution", "international",
       r"ILO\s+constitution",
       r"constitution\s+of\s+the\s+international\s+labou?r\s+organi[sz]ation"),
    _ilo(29, "Forced Labour Convention, 1930 (No. 29)",
         _on(r"forced(?:\s+or\s+compulsory)?\s+labou?r"), r"forced\s+or\s+compulsory\s+labou?r\s+"
         r"convention"),
    _i("ILO-P029", "Protocol of 2014 to the Forced Labour Convention, 1930", "ILO P029",
       "international",
       r"protocol\s+of\s+2014\s+to\s+the\s+forced\s+labou?r\s+convention",
       r"protocol\s+to\s+the\s+forced\s+labou?r\s+convention", r"forced\s+labou?r\s+protocol"),
    _ilo(81, "Labour Inspection Convention, 1947 (No. 81)",
         _on(r"labou?r\s+inspection\s+in\s+industry\s+and\s+commerce")),
    _ilo(87, "Freedom of Association and Protection of the Right to Organise Convention, 1948 "
         "(No. 87)", _on(r"freedom\s+of\s+association\s+and\s+(?:the\s+)?protection\s+of\s+the"
                         r"\s+right\s+to\s+organi[sz]e")),
    _ilo(95, "Protection of Wages Convention, 1949 (No. 95)", _on(r"protection\s+of\s+wages")),
    _ilo(97, "Migration for Employment Convention (Revised), 1949 (No. 97)",
         _on(r"migration\s+for\s+employment")),
    _ilo(98, "Right to Organise and Collective Bargaining Convention, 1949 (No. 98)",
         r"right\s+to\s+organi[sz]e\s+and\s+collective\s+bargaining\s+convention"),
    _ilo(100, "Equal Remuneration Convention, 1951 (No. 100)", _on(r"equal\s+remuneration")),
    _ilo(105, "Abolition of Forced Labour Convention, 1957 (No. 105)",
         _on(r"abolition\s+of\s+forced\s+labou?r")),
    _ilo(111, "Discrimination (Employment and Occupation) Convention, 1958 (No. 111)",
         _on(r"discrimination\s+in\s+respect\s+of\s+employment\s+and\s+occupation")),
    _ilo(118, "Equality of Treatment (Social Security) Convention, 1962 (No. 118)"),
    _ilo(122, "Employment Policy Convention, 1964 (No. 122)", _on(r"employment\s+policy")),
    _ilo(129, "Labour Inspection (Agriculture) Convention, 1969 (No. 129)",
         _on(r"labou?r\s+inspection\s+in\s+agriculture")),
    _ilo(138, "Minimum Age Convention, 1973 (No. 138)",
         _on(r"minimum\s+age(?:\s+for\s+admission\s+to\s+employment)?")),
    _ilo(143, "Migrant Workers (Supplementary Provisions) Convention, 1975 (No. 143)",
         _on(r"migrant\s+workers\s+\(supplementary\s+provisions\)")),
    _ilo(148, "Working Environment (Air Pollution, Noise and Vibration) Convention, 1977 "
         "(No. 148)", r"working\s+environment\s+\(air\s+pollution,?\s+noise\s+and\s+vibration\)"
                      r"\s+convention"),
    _ilo(155, "Occupational Safety and Health Convention, 1981 (No. 155)",
         _on(r"occupational\s+safety\s+and\s+health")),
    _ilo(156, "Workers with Family Responsibilities Convention, 1981 (No. 156)",
         _on(r"workers\s+with\s+family\s+responsibilities")),
    _ilo(162, "Asbestos Convention, 1986 (No. 162)"),
    _ilo(167, "Safety and Health in Construction Convention, 1988 (No. 167)"),
    _ilo(181, "Private Employment Agencies Convention, 1997 (No. 181)",
         _on(r"private\s+employment\s+agencies")),
    _ilo(182, "Worst Forms of Child Labour Convention, 1999 (No. 182)",
         _on(r"(?:prohibition\s+and\s+immediate\s+action\s+for\s+the\s+elimination\s+of\s+the\s+)?"
             r"worst\s+forms\s+of\s+child\s+labou?r")),
    _ilo(183, "Maternity Protection Convention, 2000 (No. 183)", _on(r"maternity\s+protection")),
    _ilo(187, "Promotional Framework for Occupational Safety and Health Convention, 2006 "
         "(No. 187)"),
    _ilo(189, "Domestic Workers Convention, 2011 (No. 189)",
         _on(r"(?:decent\s+work\s+for\s+)?domestic\s+workers")),
    # Regional
    _i("EAEU-TREATY", "Treaty on the Eurasian Economic Union", "EAEU Treaty", "EAEU",
       r"treaty\s+on\s+the\s+eurasian\s+economic\s+union",
       r"(?:eurasian\s+economic\s+union|(?-i:EE?AEU|EEU))\s+treaty"),
    _i("CIS-MIGRANT-WORKERS-CONVENTION", "Convention on the Legal Status of Migrant Workers and "
       "Members of Their Families of the Member States of the Commonwealth of Independent States",
       "CIS Migrant Workers Convention", "international",
       r"convention\s+on\s+the\s+legal\s+status\s+of\s+migrant\s+workers\s+and\s+members\s+of\s+"
       r"their\s+families\s+of\s+(?:the\s+)?(?:CIS|commonwealth\s+of\s+independent\s+states)"
       r"(?:\s+member\s+states)?"),
    # "EPCA" alone is not enough since the EU signed one with Kyrgyzstan too (2024).
    _i("EU-KZ-EPCA", "Enhanced Partnership and Cooperation Agreement between the European Union "
       "and its Member States, of the one part, and the Republic of Kazakhstan, of the other "
       "part", "EU-Kazakhstan EPCA", "international",
       r"EU[-–\s]+kazakhstan\s+enhanced\s+partnership\s+and\s+cooperation\s+agreement"),
]

# National codes and laws: generic aliases, shared between countries on purpose.
_CONSTITUTION = r"constitution"
_CRIMINAL_CODE = r"criminal(?:\s*\(penal\))?\s+code|penal\s+code"
_CRIMINAL_PROCEDURE = r"criminal[-\s]+procedur(?:e|al)\s+code|code\s+of\s+criminal\s+procedure"
_LABOUR_CODE = r"labou?r\s+code"
_CIVIL_CODE = r"civil\s+code"
_ADMIN_CODE = (r"administrative\s+(?:offen[cs]es\s+)?code"
               rf"|code\s+(?:no\.\s*[\w-]+\s+)?{_OF_STATE}{_Q}(?:on|of)\s+administrative\s+"
               rf"(?:offen[cs]es|violations){_Q}")
_MIGRATION_LAW = (rf"law\s+{_OF_STATE}{_Q}on\s+(?:the\s+)?migration(?:\s+of\s+(?:the\s+)?"
                  rf"population)?{_Q}|(?-i:Migration\s+Law)")  # "migration law": generic

INSTRUMENTS += [
    _i("KZ-CONSTITUTION", "Constitution of the Republic of Kazakhstan", "KZ Constitution", "KZ",
       _CONSTITUTION),
    _i("KZ-CRIMINAL-CODE", "Criminal Code of the Republic of Kazakhstan", "KZ Criminal Code",
       "KZ", _CRIMINAL_CODE),
    _i("KZ-CRIMINAL-PROCEDURE-CODE", "Criminal Procedure Code of the Republic of Kazakhstan",
       "KZ Criminal Procedure Code", "KZ", _CRIMINAL_PROCEDURE),
    _i("KZ-LABOUR-CODE", "Labour Code of the Republic of Kazakhstan", "KZ Labour Code", "KZ",
       _LABOUR_CODE),
    _i("KZ-ADMIN-CODE", "Code of the Republic of Kazakhstan on Administrative Offences",
       "KZ Code of Administrative Offences", "KZ", _ADMIN_CODE),
    _i("KZ-MIGRATION-LAW", "Law of the Republic of Kazakhstan \"On Migration of the Population\"",
       "KZ Migration Law", "KZ", _MIGRATION_LAW),
    _i("KZ-CIVIL-CODE", "Civil Code of the Republic of Kazakhstan", "KZ Civil Code", "KZ",
       _CIVIL_CODE),
    _i("KZ-LAND-CODE", "Land Code of the Republic of Kazakhstan", "KZ Land Code", "KZ",
       r"land\s+code"),
    _i("KZ-TAX-CODE", "Code of the Republic of Kazakhstan on Taxes and Other Obligatory Payments "
       "to the Budget (Tax Code)", "KZ Tax Code", "KZ",
       rf"tax\s+code|code\s+{_OF_STATE}on\s+taxes(?:\s+and\s+other\s+obligatory\s+payments"
       r"(?:\s+to\s+the\s+budget)?)?"),
    _i("KZ-EDUCATION-LAW", "Law of the Republic of Kazakhstan \"On Education\"",
       "KZ Law on Education", "KZ", rf"law\s+{_OF_STATE}{_Q}on\s+education{_Q}"),
    _i("KZ-FOREIGNERS-LAW", "Law of the Republic of Kazakhstan \"On the Legal Status of "
       "Foreigners\"", "KZ Law on the Legal Status of Foreigners", "KZ",
       rf"law\s+{_OF_STATE}{_Q}on\s+the\s+legal\s+status\s+of\s+foreign(?:ers|\s+nationals|\s+"
       rf"citizens)(?:\s+and\s+stateless\s+persons)?{_Q}"),
    _i("KZ-TRADE-UNION-LAW", "Law of the Republic of Kazakhstan \"On Trade Unions\"",
       "KZ Trade Union Law", "KZ",
       rf"trade\s+unions?\s+law|law\s+{_OF_STATE}{_Q}on\s+(?:trade\s+)?unions{_Q}"),
    _i("KG-CONSTITUTION", "Constitution of the Kyrgyz Republic", "KG Constitution", "KG",
       _CONSTITUTION),
    _i("KG-CRIMINAL-CODE", "Criminal Code of the Kyrgyz Republic", "KG Criminal Code", "KG",
       _CRIMINAL_CODE),
    _i("KG-CRIMINAL-PROCEDURE-CODE", "Criminal Procedure Code of the Kyrgyz Republic",
       "KG Criminal Procedure Code", "KG", _CRIMINAL_PROCEDURE),
    _i("KG-LABOUR-CODE", "Labour Code of the Kyrgyz Republic", "KG Labour Code", "KG",
       _LABOUR_CODE),
    _i("KG-CIVIL-CODE", "Civil Code of the Kyrgyz Republic", "KG Civil Code", "KG", _CIVIL_CODE),
    _i("KG-ADMIN-CODE", "Code of the Kyrgyz Republic on Administrative Responsibility",
       "KG Administrative Code", "KG", _ADMIN_CODE,
       rf"code\s+{_OF_STATE}(?:on|of)\s+administrative\s+(?:responsibility|liability)"),
    _i("KG-OFFENCES-CODE", "Code of the Kyrgyz Republic on Offences", "KG Code of Offences",
       "KG", rf"code\s+{_OF_STATE}(?:on|of)\s+(?:offen[cs]es|violations)"),
    _i("KG-MIGRATION-LAW", "Law of the Kyrgyz Republic \"On External Migration\"",
       "KG Migration Law", "KG", _MIGRATION_LAW,
       rf"law\s+{_OF_STATE}{_Q}on\s+external\s+migration{_Q}"),
]

BY_ID: dict[str, Instrument] = {i.id: i for i in INSTRUMENTS}
assert len(BY_ID) == len(INSTRUMENTS), "duplicate instrument id"


@cache
def ilo_instrument(number: int, protocol: bool = False) -> Instrument:
    """The ILO convention (or protocol) of that number: the registry entry or a generic one."""
    id_ = f"ILO-{'P' if protocol else 'C'}{number:03d}"
    if id_ in BY_ID:
        return BY_ID[id_]
    kind = "Protocol" if protocol else "Convention"
    return _i(id_, f"ILO {kind} No. {number}", f"ILO {id_[4:]}", "international",
              rf"(?-i:{id_[4]}0*{number})(?!\d)")


def get_instrument(instrument_id: str) -> Instrument | None:
    """The registry entry for an id, including generated ILO ids ("ILO-C139")."""
    if instrument_id in BY_ID:
        return BY_ID[instrument_id]
    m = re.fullmatch(r"ILO-([CP])(\d{3})", instrument_id)
    return ilo_instrument(int(m.group(2)), m.group(1) == "P") if m else None


# --- scanning a text for instrument names --------------------------------------------------

_L, _R = r"(?<![\w/])", r"(?![\w/])"  # word boundaries that also keep out of URLs
_COUNTRY_PREFIX = (rf"(?:the\s+country['’]s|(?:{_ANY_COUNTRY}|kyrgyz\s+republic)(?:['’]s)?"
                   r"|(?-i:KZ|KG))\s+")
_YEAR = r"(?:19|20)\d{2}"
# Around a national alias: "Kazakhstan's 2015 Labour Code", "Criminal Code of 1997",
# "Code No. 235-V of the Republic of Kazakhstan", "Labour Code of the Republic of Kazakhstan".
_NATIONAL_WRAP = (rf"{_L}(?:{_COUNTRY_PREFIX})?(?:{_YEAR}\s+)?(?:<ALIAS>)"
                  rf"(?:\s+(?:no\.\s*[\w-]+\s+)?of\s+{_STATE})?(?:,?\s+(?:of\s+)?{_YEAR})?{_R}")
# Around an international alias: "UN ...", "ILO ...", "..., 1930 (No. 29)", "(Revised), 1949".
_INTL_WRAP = (rf"{_L}(?:(?:UN|united\s+nations|ILO)\s+)?(?:<ALIAS>)"
              rf"(?:\s*\(revised\))?(?:,?\s+(?:of\s+)?{_YEAR})?(?:\s*\(no\.\s*\d{{1,3}}\))?{_R}"
              r"(?!\s+committee)")  # "the CEDAW Committee" is not the convention

# ILO conventions by number. Plural heads take lists: "ILO conventions N°87 and N°98",
# "Nos. 29 and 105", "N° 155, 167, and 187"; a singular head takes only "and N°98".
_ILO_NUM = re.compile(
    rf"{_L}(?<!european\s)(?<!europe\s)(?:ILO\s+)?(?P<head>conventions?)\s+"
    r"(?P<no>nos?\.|n[°º]s?\.?|no(?=\s*\d))\s*(?P<n>\d{1,3})(?!\d)(?:\s+of\s+(?:19|20)\d{2})?",
    re.I)
# a number that measures something ("29.5", "5 per cent", "40 hours") is no convention's
_NOT_A_MEASURE = r"(?![\d.,]\d)(?!\s*(?:%|per\b|years?\b|hours?\b))"
_ILO_CHAIN = re.compile(r"(?:\s*,\s*(?:and\s+)?|\s+(?:and|&|or)\s+)(?P<no>(?:n[°º]|nos?\.)\s*)?"
                        rf"(?P<n>\d{{1,3}}){_NOT_A_MEASURE}", re.I)
# "ILO Convention 118", as users write it: no "No.", so only after "ILO"
_ILO_BARE = re.compile(rf"\bILO\s+conventions?\s+(?P<n>\d{{1,3}}){_NOT_A_MEASURE}", re.I)
# "C097 - Migration for Employment Convention", "ILO C 29", "P029"
_ILO_CODE = re.compile(r"(?<![\w/=.-])(?:(?:ILO\s+)?(?-i:(?P<kind>[CP]))(?P<n>\d{3})"
                       r"|ILO\s+(?P<kind2>[CP])\s?(?P<n2>\d{1,3}))(?![\w/])", re.I)
# "Safety and Health in Construction Convention, 1988 (No. 167)" when the title is unknown
_ILO_PAREN = re.compile(rf"{_L}convention(?:\s*\((?!no\.)[^()]{{1,40}}\))?(?:,?\s*(?:of\s+)?"
                        rf"{_YEAR})?\s*\(no\.\s*(?P<n>\d{{1,3}})\)", re.I)
_NO_IN_SPAN = re.compile(r"\(no\.\s*(\d{1,3})\)", re.I)
# Names that are instruments but cannot be identified: kept, never guessed.
_VAGUE = re.compile(rf"{_L}(?:(?:UN|united\s+nations)\s+)?(?:international\s+covenant"
                    r"|optional\s+protocol\s+to\s+the\s+convention\s+on\s+the\s+rights\s+of\s+the"
                    rf"\s+child|ILO\s+convention){_R}", re.I)
_MAX_ILO = 199  # ILO conventions are numbered 1..191 so far


def _compile(inst: Instrument) -> re.Pattern:
    wrap = _NATIONAL_WRAP if inst.jurisdiction in NATIONAL else _INTL_WRAP
    return re.compile(wrap.replace("<ALIAS>", "|".join(inst.aliases)), re.I)


def _anchors(alias: str) -> list[tuple[str, ...]]:
    """For each top-level alternative of an alias, the words every match of it contains: its
    literal words outside any group, lowercased ("(?:UN|united\\s+nations)\\s+charter" ->
    [("charter",)]); an alternative without such words gives () (it always runs)."""
    bare = re.sub(r"\(\?-i:([A-Za-z]+)\)", r" \1 ", alias)  # a case-sensitive acronym: UDHR
    while (shorter := re.sub(r"\([^()]*\)[?*]?", " ", bare)) != bare:
        bare = shorter
    return [tuple(w.lower() for w in re.split(r"\\s[+*]?|\s", branch)
                  if re.fullmatch(r"[A-Za-z]{3,}", w))
            for branch in bare.split("|")]


# A wrapped pattern tries its optional prefixes at every position of a text, so it runs only on
# texts that hold every anchor word of one of its aliases (ingest spent seconds here).
_PATTERNS: list[tuple[Instrument, list[tuple[str, ...]], re.Pattern]] = [
    (i, [words for a in i.aliases for words in _anchors(a)], _compile(i)) for i in INSTRUMENTS]
_COUNTRY_RES = {c: re.compile(rf"(?<!\w)(?:{w})(?!\w)", re.I) for c, w in _COUNTRY_WORDS.items()}


def countries(text: str) -> set[str]:
    """Country codes named in a text ("Kazakhstan's", "of the Kyrgyz Republic", "KZ")."""
    found = {c for c, r in _COUNTRY_RES.items() if r.search(text)}
    found |= set(re.findall(r"\b(?-i:KZ|KG)\b", text))
    return found


def _candidates(text: str):
    """(start, end, tag) for every alias match; tag is an Instrument, an ILO id or None."""
    lower = text.lower()
    for inst, anchors, pattern in _PATTERNS:
        if not any(all(w in lower for w in words) for words in anchors):
            continue
        for m in pattern.finditer(text):
            yield m.start(), m.end(), inst
    for m in _ILO_NUM.finditer(text):
        plural = m.group("head").lower().endswith("s") or m.group("no").lower().startswith("nos")
        yield m.start(), m.end(), f"ILO-C{int(m.group('n')):03d}"
        pos = m.end()
        while (c := _ILO_CHAIN.match(text, pos)) and (plural or c.group("no")):
            if int(c.group("n")) > _MAX_ILO:
                break
            start = c.start("no") if c.group("no") else c.start("n")
            yield start, c.end(), f"ILO-C{int(c.group('n')):03d}"
            pos = c.end()
    for m in _ILO_BARE.finditer(text):
        yield m.start(), m.end(), f"ILO-C{int(m.group('n')):03d}"
    for m in _ILO_CODE.finditer(text):
        kind, n = (m.group("kind"), m.group("n")) if m.group("n") else (m.group("kind2"),
                                                                       m.group("n2"))
        yield m.start(), m.end(), f"ILO-{kind.upper()}{int(n):03d}"
    for m in _ILO_PAREN.finditer(text):
        yield m.start(), m.end(), f"ILO-C{int(m.group('n')):03d}"
    for m in _VAGUE.finditer(text):
        yield m.start(), m.end(), None


def _resolve(span: str, tags: list, jurisdiction: str | None) -> str | None:
    """The one instrument a matched span names, or None when that is not certain."""
    ilo = {t for t in tags if isinstance(t, str)}
    if ilo:  # a number is more precise than a title
        return ilo.pop() if len(ilo) == 1 else None
    insts = [t for t in tags if isinstance(t, Instrument)]
    if not insts:
        return None
    intl = {i.id for i in insts if i.jurisdiction not in NATIONAL}
    if intl:
        if len(intl) > 1:
            return None
        id_ = intl.pop()
        no = _NO_IN_SPAN.search(span)
        if no and id_.startswith("ILO-C"):  # "Maternity Protection Convention, 1952 (No. 103)"
            return ilo_instrument(int(no.group(1))).id
        return id_
    named = countries(span)
    if len(named) > 1:
        return None
    country = named.pop() if named else jurisdiction
    ids = {i.id for i in insts if i.jurisdiction == country}
    return ids.pop() if len(ids) == 1 else None


def find_mentions(text: str, jurisdiction: str | None = None) -> list[Mention]:
    """Instrument names in a text, in order, without overlaps (leftmost-longest wins).

    jurisdiction is the country assumed for national codes that do not name theirs ("the
    Criminal Code" in a report about Kazakhstan); without it they stay unresolved (None).
    """
    spans: dict[tuple[int, int], list] = {}
    for start, end, tag in _candidates(text):
        spans.setdefault((start, end), []).append(tag)
    out: list[Mention] = []
    last_end = -1
    for (start, end), tags in sorted(spans.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        if start < last_end:
            continue
        span = text[start:end]
        out.append(Mention(start, end, _resolve(span, tags, jurisdiction), span))
        last_end = end
    return out


def find_instrument(name: str, jurisdiction: str | None = None) -> Instrument | None:
    """Resolve a free-text instrument name; None when it is unknown or ambiguous.

    "the International Covenant on Civil and Political Rights" -> ICCPR, "C029" -> ILO-C029,
    "Labour Code of the Republic of Kazakhstan" -> KZ-LABOUR-CODE; "the Covenant", "the
    Criminal Code" (no country, no jurisdiction given) or "ILO conventions N°87 and N°98"
    (two instruments) -> None.
    """
    mentions = find_mentions(name, jurisdiction)
    ids = {m.instrument for m in mentions}
    if len(ids) != 1 or None in ids:
        return None
    return get_instrument(ids.pop())


def instrument_for_document(title: str, short_title: str) -> str | None:
    """The registry id of a legal text from its front matter (title, short_title).

    Both are tried; when both resolve they must agree (a disagreement returns None).
    """
    ids = {i.id for i in (find_instrument(title or ""), find_instrument(short_title or ""))
           if i is not None}
    return ids.pop() if len(ids) == 1 else None
