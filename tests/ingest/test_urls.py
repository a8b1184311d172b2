"""Tests for ingest.urls: canonical URLs, hosts and same-site checks."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.urls import canonicalize_url, host_of, same_site


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "HTTP://WWW.Example.COM/Path",
            "http://www.example.com/Path",
            id="case-of-scheme-and-host-only",
        ),
        pytest.param("https://example.com", "https://example.com/", id="empty-path"),
        pytest.param("https://example.com?", "https://example.com/", id="trailing-question-mark"),
        pytest.param(
            "https://example.com/a?#", "https://example.com/a", id="empty-query-and-fragment"
        ),
        pytest.param("https://example.com/a#section-2", "https://example.com/a", id="fragment"),
        pytest.param("http://example.com:80/a", "http://example.com/a", id="default-http-port"),
        pytest.param("https://example.com:443/a", "https://example.com/a", id="default-https-port"),
        pytest.param("http://example.com:443/a", "http://example.com:443/a", id="non-default-port"),
        pytest.param("https://example.com:/a", "https://example.com/a", id="empty-port"),
        pytest.param(
            "https://user:secret@example.com/a", "https://example.com/a", id="credentials"
        ),
        pytest.param("https://example.com./a", "https://example.com/a", id="trailing-dot-host"),
        pytest.param(
            "https://münchen.de/straße",
            "https://xn--mnchen-3ya.de/stra%C3%9Fe",
            id="idna-and-utf8-path",
        ),
        pytest.param("https://例え.テスト/", "https://xn--r8jz45g.xn--zckzah/", id="idna-japanese"),
        pytest.param("http://[2001:DB8::0:1]:8080/", "http://[2001:db8::1]:8080/", id="ipv6"),
        pytest.param("http://192.0.2.1/x", "http://192.0.2.1/x", id="ipv4"),
        # percent-encoding
        pytest.param(
            "https://e.com/%7euser/%41%2fb",
            "https://e.com/~user/A%2Fb",
            id="decode-unreserved-keep-reserved",
        ),
        pytest.param("https://e.com/caf%c3%a9", "https://e.com/caf%C3%A9", id="uppercase-escapes"),
        pytest.param("https://e.com/a b/é", "https://e.com/a%20b/%C3%A9", id="encode-unsafe"),
        pytest.param("https://e.com/100%", "https://e.com/100%25", id="lone-percent"),
        pytest.param("https://e.com/a%2", "https://e.com/a%252", id="short-escape"),
        # dot segments
        pytest.param("https://e.com/a/./b/../c", "https://e.com/a/c", id="dot-segments"),
        pytest.param("https://e.com/a/b/..", "https://e.com/a/", id="trailing-dot-dot"),
        pytest.param("https://e.com/../../x", "https://e.com/x", id="dot-dot-above-root"),
        pytest.param("https://e.com/a/%2E%2E/b", "https://e.com/b", id="encoded-dot-segments"),
        pytest.param("https://e.com/a//b/", "https://e.com/a//b/", id="double-slash-kept"),
        # query
        pytest.param("https://e.com/?b=2&a=1", "https://e.com/?a=1&b=2", id="sorted"),
        pytest.param(
            "https://e.com/?b=2&a=3&a=1", "https://e.com/?a=3&a=1&b=2", id="sort-is-stable"
        ),
        pytest.param(
            "https://e.com/?flag&empty=&x=1",
            "https://e.com/?empty=&flag&x=1",
            id="blank-values-kept",
        ),
        pytest.param(
            "https://e.com/?a=1&&b=2&", "https://e.com/?a=1&b=2", id="empty-pairs-dropped"
        ),
        pytest.param(
            "https://e.com/?q=a+b&r=%7e%e9", "https://e.com/?q=a+b&r=~%E9", id="query-escapes"
        ),
        pytest.param("https://e.com/?q=x y", "https://e.com/?q=x%20y", id="query-space"),
        pytest.param(
            "https://e.com/story?utm_source=tw&UTM_Medium=social&utm_whatever=1&id=7",
            "https://e.com/story?id=7",
            id="utm-any-case",
        ),
        pytest.param(
            "https://e.com/s?fbclid=1&gclid=2&dclid=3&msclkid=4&mc_cid=5&mc_eid=6&yclid=7&_ga=8&_gl=9&p=1",
            "https://e.com/s?p=1",
            id="click-ids",
        ),
        pytest.param(
            "https://e.com/s?igshid=1&ref_src=2&ref_url=3&cmpid=4&ocid=5&icid=6&ncid=7&sr_share=8&s_cid=9&p=1",
            "https://e.com/s?p=1",
            id="referral-ids",
        ),
        pytest.param(
            "https://e.com/s?at_medium=1&at_campaign=2&wt_mc=3&WT.mc_id=4&__twitter_impression=true&spm=5&share=6&p=1",
            "https://e.com/s?p=1",
            id="campaign-ids",
        ),
        pytest.param(
            "https://e.com/s?pk_campaign=1&mtm_source=2&hsa_acc=3", "https://e.com/s", id="prefixes"
        ),
        pytest.param(
            "https://e.com/s?%75tm_source=x&p=1", "https://e.com/s?p=1", id="encoded-tracking-name"
        ),
        pytest.param(
            "https://e.com/s?reference=1&shared=2&utm=3",
            "https://e.com/s?reference=1&shared=2&utm=3",
            id="look-alikes-kept",
        ),
        pytest.param("  https://e.com/a\n\tb  ", "https://e.com/ab", id="whitespace-and-newlines"),
    ],
)
def test_canonicalize(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        pytest.param("/a?b=1", "https://e.com/x/y", "https://e.com/a?b=1", id="absolute-path"),
        pytest.param("../z", "https://e.com/x/y/", "https://e.com/x/z", id="relative-path"),
        pytest.param(
            "//cdn.e.com/i.png", "https://e.com/", "https://cdn.e.com/i.png", id="scheme-relative"
        ),
        pytest.param(
            "https://other.com/", "https://e.com/", "https://other.com/", id="already-absolute"
        ),
        pytest.param(
            "?page=2", "https://e.com/list?page=1#top", "https://e.com/list?page=2", id="query-only"
        ),
    ],
)
def test_canonicalize_against_base(url: str, base: str, expected: str) -> None:
    assert canonicalize_url(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("", id="empty"),
        pytest.param("not a url", id="words"),
        pytest.param("/relative/only", id="relative-without-base"),
        pytest.param("//e.com/a", id="scheme-relative-without-base"),
        pytest.param("ftp://e.com/file", id="ftp"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("mailto:a@e.com", id="mailto"),
        pytest.param("http://", id="no-host"),
        pytest.param("http:///path", id="empty-host"),
        pytest.param("http:e.com", id="no-slashes"),
        pytest.param("http://e..com/", id="empty-label"),
        pytest.param("http://e com/", id="space-in-host"),
        pytest.param("http://e.com:99999/", id="port-out-of-range"),
        pytest.param("http://e.com:port/", id="port-not-a-number"),
        pytest.param("http://[::1/", id="unclosed-ipv6"),
        pytest.param("http://[not-ipv6]/", id="bad-ipv6"),
        pytest.param("http://evil.com\\@good.com/", id="backslash-in-authority"),
        pytest.param("http://e.com/\ud800", id="lone-surrogate"),
        pytest.param("http://" + "a" * 300 + ".com/", id="host-too-long"),
    ],
)
def test_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"URL"):
        canonicalize_url(url)


URL_PIECES = st.sampled_from(
    ["http://", "https://", "HTTPS://", "Ex.COM", "münchen.de", "[::1]", ":80", ":443", ":8080",
     "/", "//", "a", "..", ".", "%2e", "%2F", "%41", "%7e", "%zz", "%", "?", "&", "=", "#", "+",
     " ", "é", "\\", "@", "user:pw@", ";", "[", "]", "www.", "utm_source=x", "a=1", "b=2",
     "fbclid=1", "\x00", "\u3002", "%E9", "~"]
)  # fmt: skip


@given(
    st.one_of(
        st.lists(URL_PIECES, max_size=20).map("".join),
        st.text(max_size=200),
        st.builds(
            lambda p, q: f"https://e.com/{p}?{q}", st.text(max_size=50), st.text(max_size=50)
        ),
    )
)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_canonicalize_is_idempotent(url: str) -> None:
    try:
        once = canonicalize_url(url)
    except ValueError:
        return
    assert canonicalize_url(once) == once


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://WWW.Example.com:8443/a", "www.example.com", id="lowercase-no-port"),
        pytest.param("https://münchen.de/", "xn--mnchen-3ya.de", id="idna"),
        pytest.param("http://[::1]:8080/", "::1", id="ipv6-without-brackets"),
    ],
)
def test_host_of(url: str, expected: str) -> None:
    assert host_of(url) == expected


def test_host_of_rejects_non_http() -> None:
    with pytest.raises(ValueError, match="http"):
        host_of("mailto:a@example.com")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param("https://www.cnn.com/a", "https://cnn.com/b", True, id="www-alias"),
        pytest.param(
            "https://m.example.com/", "https://amp.example.com/", True, id="mobile-and-amp"
        ),
        pytest.param("https://edition.cnn.com/", "https://www.cnn.com/", True, id="subdomains"),
        pytest.param("https://news.bbc.co.uk/", "https://www.bbc.co.uk/", True, id="co-uk"),
        pytest.param("https://www.smh.com.au/", "https://smh.com.au/", True, id="com-au"),
        pytest.param(
            "https://www.koreatimes.co.kr/", "https://img.koreatimes.co.kr/", True, id="co-kr"
        ),
        pytest.param("https://bbc.co.uk/", "https://itv.co.uk/", False, id="different-under-co-uk"),
        pytest.param("https://bbc.co.uk/", "https://bbc.com/", False, id="different-suffix"),
        pytest.param("https://cnn.com/", "https://notcnn.com/", False, id="suffix-lookalike"),
        pytest.param("https://cnn.com.evil.net/", "https://cnn.com/", False, id="prefix-lookalike"),
        pytest.param("http://192.0.2.1/", "http://192.0.2.1:8080/", True, id="same-ip"),
        pytest.param("http://192.0.2.1/", "http://192.0.2.2/", False, id="different-ip"),
        pytest.param(
            "https://MÜNCHEN.de/", "https://www.xn--mnchen-3ya.de/", True, id="idna-forms"
        ),
        pytest.param("https://localhost/", "http://localhost:8000/", True, id="single-label"),
        # Shared hosts: every tenant is a site of its own (issue #14). The Public Suffix List's
        # private section covers the first ones; the rest are listed in ingest/urls.py.
        pytest.param(
            "https://alice.github.io/", "https://bob.github.io/", False, id="github-io-tenants"
        ),
        pytest.param(
            "https://www.alice.github.io/a", "https://alice.github.io/b", True, id="one-tenant"
        ),
        pytest.param("https://a.blogspot.com/", "https://b.blogspot.com/", False, id="blogspot"),
        pytest.param(
            "https://a.s3.amazonaws.com/x", "https://b.s3.amazonaws.com/x", False, id="s3-buckets"
        ),
        pytest.param("https://a.herokuapp.com/", "https://b.herokuapp.com/", False, id="heroku"),
        pytest.param("https://a.wordpress.com/", "https://b.wordpress.com/", False, id="wordpress"),
        pytest.param("https://a.substack.com/", "https://b.substack.com/", False, id="substack"),
        pytest.param("https://a.tumblr.com/", "https://b.tumblr.com/", False, id="tumblr"),
        pytest.param("https://a.github.io/", "https://github.io/", False, id="tenant-vs-host"),
        # Second-level suffixes the old hand-written list did not have.
        pytest.param("https://elpais.com.es/", "https://abc.com.es/", False, id="com-es"),
        pytest.param("https://a.co.im/", "https://b.co.im/", False, id="co-im"),
        pytest.param("https://www.a.gov.scot/", "https://b.gov.scot/", False, id="gov-scot"),
        pytest.param("https://news.a.com.es/", "https://www.a.com.es/", True, id="com-es-same"),
    ],
)
def test_same_site(a: str, b: str, expected: bool) -> None:
    assert same_site(a, b) is expected
    assert same_site(b, a) is expected
