"""The words date lines are written in: month names by language, and digits to read as ASCII.

Names are lower case, as ``str.lower`` leaves them; a trailing dot is stripped before lookup
("Sept.", "janv."). Inflected forms are listed where a language writes the day before the
month in the genitive ("15 сентября", "15 września", "15. syyskuuta"). An abbreviation that is
also a common word in another listed language is left out ("out", Portuguese October).
"""

from __future__ import annotations

__all__ = ["MONTH_NAMES", "TO_ASCII_DIGITS"]


_TABLES = (
    # English, full and abbreviated
    "january february march april may june july august september october november december",
    "jan feb mar apr may jun jul aug sep/sept oct nov dec",
    # German (Austrian "Jänner")
    "januar/jänner februar/feber märz april mai juni juli august september oktober november "
    "dezember",
    "jan/jän feb mär/mrz apr mai jun jul aug sep/sept okt nov dez",
    # French
    "janvier février/fevrier mars avril mai juin juillet août/aout septembre octobre novembre "
    "décembre/decembre",
    "janv fév/févr/fev/fevr mars avr mai juin juil août sept oct nov déc/dec",
    # Spanish
    "enero febrero marzo abril mayo junio julio agosto septiembre/setiembre octubre noviembre "
    "diciembre",
    "ene feb mar abr may jun jul ago sep/sept/set oct nov dic",
    # Italian
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "gen feb mar apr mag giu lug ago set/sett ott nov dic",
    # Portuguese
    "janeiro fevereiro março/marco abril maio junho julho agosto setembro outubro novembro "
    "dezembro",
    "jan fev mar abr mai jun jul ago set - nov dez",
    # Dutch
    "januari februari maart april mei juni juli augustus september oktober november december",
    "jan feb mrt apr mei jun jul aug sep okt nov dec",
    # Danish, Norwegian, Swedish (those not already listed)
    "januar februar marts/mars april maj/mai juni juli august/augusti september oktober "
    "november december/desember",
    # Finnish (partitive, as dates write it)
    "tammikuuta/tammikuu helmikuuta/helmikuu maaliskuuta/maaliskuu huhtikuuta/huhtikuu "
    "toukokuuta/toukokuu kesäkuuta/kesäkuu heinäkuuta/heinäkuu elokuuta/elokuu "
    "syyskuuta/syyskuu lokakuuta/lokakuu marraskuuta/marraskuu joulukuuta/joulukuu",
    # Polish, genitive and nominative
    "stycznia/styczeń lutego/luty marca/marzec kwietnia/kwiecień maja/maj czerwca/czerwiec "
    "lipca/lipiec sierpnia/sierpień września/wrzesień października/październik "
    "listopada/listopad grudnia/grudzień",
    # Czech, genitive
    "ledna února března dubna května června července srpna září října listopadu prosince",
    # Romanian
    "ianuarie februarie martie aprilie mai iunie iulie august septembrie octombrie noiembrie "
    "decembrie",
    # Hungarian
    "január február március április május június július augusztus szeptember október "
    "november december",
    # Turkish
    "ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık",
    # Indonesian and Malay
    "januari februari maret april mei juni juli agustus september oktober november desember",
    # Russian, genitive and nominative, and abbreviated
    "января/январь февраля/февраль марта/март апреля/апрель мая/май июня/июнь июля/июль "
    "августа/август сентября/сентябрь октября/октябрь ноября/ноябрь декабря/декабрь",
    "янв фев/февр мар апр мая июн июл авг сен/сент окт ноя/нояб дек",
    # Ukrainian, genitive
    "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня",
    # Greek, genitive
    "ιανουαρίου φεβρουαρίου μαρτίου απριλίου μαΐου ιουνίου ιουλίου αυγούστου σεπτεμβρίου "
    "οκτωβρίου νοεμβρίου δεκεμβρίου",
    # Arabic (Egypt and the Gulf; the Levant's single-word names)
    "يناير فبراير مارس أبريل/إبريل/ابريل مايو يونيو/يونيه يوليو/يوليه أغسطس/اغسطس سبتمبر "
    "أكتوبر/اكتوبر نوفمبر ديسمبر",
    "- شباط آذار/اذار نيسان أيار/ايار حزيران تموز آب/اب أيلول/ايلول - - -",
)


def _month_names(tables: tuple[str, ...]) -> dict[str, int]:
    """Map each name to its month number. A table lists twelve names, January first; a slash
    joins spellings of one month ("fév/févr"), a dash stands for a month it leaves out."""
    names: dict[str, int] = {}
    for table in tables:
        months = table.split()
        if len(months) != 12:
            raise ValueError(f"a month table needs twelve entries: {table!r}")
        for number, spellings in enumerate(months, start=1):
            for spelling in spellings.split("/"):
                if spelling != "-":
                    names.setdefault(spelling, number)
    return names


MONTH_NAMES = _month_names(_TABLES)

# Arabic-Indic and Persian digits, read as the ASCII digits they are ("١٥ سبتمبر ٢٠٢١").
TO_ASCII_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
