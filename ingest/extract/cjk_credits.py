"""Read the credit lines of Chinese, Japanese and Korean pages.

Their by-lines write the job onto the name, with or without a space: "김민준 기자",
"山田太郎記者", "新华社记者 张三 李四"; a dateline joins place and reporter with "="
("워싱턴=이수진 특파원", "（ワシントン＝山田太郎）"); Chinese pages credit their editors at the
end of the story, "（责编：张三、李四）". ``plain_credit`` turns such a line into names set off by
commas, for ``authors.clean_author_names`` to read as it reads any other credit.
"""

from __future__ import annotations

import re
from itertools import islice

from lxml import etree
from lxml.html import HtmlElement

from ingest.extract.document import select
from ingest.extract.text import clean_text

__all__ = ["editors_credit", "is_cjk_by_line", "is_cjk_outlet", "plain_credit"]

# Job words, longest first so that "特约记者" goes whole. Mainland pages write the job before
# the name ("记者张三"), Japanese and Korean ones after it ("山田記者", "김민준 기자").
_ROLES = (
    "责任编辑", "責任編輯", "特约记者", "特約記者", "通讯员", "通訊員", "实习生", "編集委員",
    "编辑部", "編輯部", "編集部", "편집국", "편집부", "논설위원", "선임기자", "객원기자",
    "특파원", "기자", "記者", "记者", "編輯", "编辑", "责编", "責編", "特派員", "特派员",
    # Desks written before the name ("社会部 山田太郎記者", "사회부 김민준 기자"); only these, as
    # surnames such as 阿部 and 服部 end in 部 too.
    "社会部", "政治部", "経済部", "国際部", "文化部", "運動部", "写真部", "報道部", "科学部",
    "사회부", "정치부", "경제부", "국제부", "문화부", "체육부", "산업부",
)  # fmt: skip
_ROLE = re.compile("|".join(_ROLES))
# The job words that make a short line a by-line.
_REPORTER = re.compile("记者|記者|기자|특파원|特派員|特派员")
_MAX_BY_LINE_CHARS = 40
# Mainland job words: their pages list several names set off by spaces ("记者 张三 李四").
_MAINLAND = re.compile("记者|编辑|责编|通讯员|实习生")
_HAN_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")
# "(서울=연합뉴스)", "（ワシントン＝山田太郎）": where the story was filed, and the agency that
# filed it or the reporter.
_DATELINE = re.compile(r"[(（][^()（）=＝]{1,20}[=＝]([^()（）]{1,20})[)）]")
_PLACE = re.compile(r"^\S*[=＝]")
# Labels before a name: "この記事を書いた人" heads a profile box; the short ones need their colon.
_LABEL = re.compile(
    r"^(?:この記事を書いた人|(?:執筆者|筆者|著者|作者|撰文|撰稿|文|글)\s*[:：=|｜])\s*"
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# Outlets' names end in words meaning news, daily, paper, broadcaster, agency, site.
_OUTLET = re.compile(
    r"(?:뉴스|일보|신문|방송|통신|新闻|新聞|日报|日報|晚报|晚報|晨报|晨報|通信|通信社|通讯社|"
    r"通訊社|电视台|電視台|新闻网|新聞網|网|網)$"
)
# "（责编：张三、李四）", "责任编辑：焦鹏".
_EDITORS = re.compile(r"(?:责编|责任编辑|責編|責任編輯)\s*[:：]\s*([^()（）\n]{1,40})")
# The elements holding such a credit in their own text, found through the text nodes (fast in
# libxml2).
_EDITOR_ELEMENTS = etree.XPath(
    "//text()[contains(., '责编') or contains(., '责任编辑') or contains(., '責編')"
    " or contains(., '責任編輯')]/.."
)
_MAX_EDITOR_ELEMENTS = 5
_MAX_EDITOR_CHARS = 200


def plain_credit(text: str) -> str:
    """Drop job words and datelines from a CJK credit line and set its names off by commas
    ("新华社记者 张三 李四" -> "张三, 李四"); other lines come back as they are."""
    if not _CJK.search(text):
        return text
    mainland = bool(_MAINLAND.search(text))
    text = _DATELINE.sub(_dateline, _LABEL.sub("", text.strip()))
    names = [name for token in text.split() if (name := _without_role(token, mainland))]
    if mainland and len(names) > 1 and all(_HAN_NAME.match(name) for name in names):
        return ", ".join(names)
    return " ".join(names)


def _dateline(found: re.Match[str]) -> str:
    """Keep the reporter of a dateline, not the agency."""
    who = found.group(1).strip()
    return " " if is_cjk_outlet(who) else f" {who} "


def _without_role(token: str, mainland: bool) -> str:
    """A token without its job word: the name after it ("记者张三"), else the name before it
    ("山田太郎記者"), except on mainland pages, where what comes before the job is the
    employer ("新华社记者"); a place joined by "=" goes too ("워싱턴=이수진")."""
    token = _PLACE.sub("", token).strip("=＝")
    found = _ROLE.search(token)
    if found is None:
        return token
    after = token[found.end() :].strip(":：")
    return after if after or mainland else token[: found.start()]


def is_cjk_by_line(text: str) -> bool:
    """Tell whether a short line credits a reporter ("本报记者 张伟", "김민준 기자"), whatever
    the element holding it is called."""
    return len(text) <= _MAX_BY_LINE_CHARS and bool(_REPORTER.search(text))


def is_cjk_outlet(name: str) -> bool:
    """Tell whether a CJK credit names an outlet ("연합뉴스", "东方晨报") rather than a person."""
    return bool(_CJK.search(name)) and bool(_OUTLET.search(name))


def editors_credit(root: HtmlElement) -> list[str]:
    """Return the editors a Chinese page credits ("（责编：张三、李四）" -> ["张三、李四"]):
    the raw credit, for ``clean_author_names``."""
    for element in select(_EDITOR_ELEMENTS, root)[:_MAX_EDITOR_ELEMENTS]:
        text = clean_text(" ".join(islice(element.itertext(), 20)))[:_MAX_EDITOR_CHARS]
        found = _EDITORS.search(text)
        if found is not None and found.group(1).strip():
            return [found.group(1)]
    return []
