"""ENR trees (EIP-1459): the specification's example tree, trees we build and sign, forged and
stale trees refused, and the entry parser fuzzed."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.enr import Enr
from pystatus.waku.enrtree import (
    MAX_CHILDREN,
    Branch,
    InvalidEnrTree,
    Link,
    Root,
    TreeWalk,
    build_tree,
    entry_hash,
    parse_entry,
)

# EIP-1459's example tree (three nodes and a link), published with the specification; the
# domain is arbitrary since neither hashes nor the signature cover it.
EIP_URL = "enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@nodes.example.org"
EIP_TREE = {
    "nodes.example.org": "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE"
    " seq=1 sig=o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2"
    "a463gA",
    "C7HRFPF3BLGF3YR4DY5KX3SMBE.nodes.example.org": "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG"
    "3YYHIUV7BVDQ5FDPRT2@morenodes.example.org",
    "JWXYDBPXYWG6FX3GMDIBFA6CJ4.nodes.example.org": "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,"
    "H4FHT4B454P6UXFD7JCYQ5PWDY,MHTDO6TMUBRIA2XWG5LUDACK24",
    "2XS2367YHAXJFGLZHVAWLQD4ZY.nodes.example.org": "enr:-HW4QOFzoVLaFJnNhbgMoDXPnOvcdVuj7pDpqRv"
    "h6BRDO68aVi5ZcjB3vzQRZH2IcLBGHzo8uUN3snqmgTiE56CH3AMBgmlkgnY0iXNlY3AyNTZrMaECC2_24YYkYHEgdzx"
    "lSNKQEnHhuNAbNlMlWJxrJxbAFvA",
    "H4FHT4B454P6UXFD7JCYQ5PWDY.nodes.example.org": "enr:-HW4QAggRauloj2SDLtIHN1XBkvhFZ1vtf1raYQ"
    "p9TBW2RD5EEawDzbtSmlXUfnaHcvwOizhVYLtr7e6vw7NAf6mTuoCgmlkgnY0iXNlY3AyNTZrMaECjrXI8TLNXU0f8ct"
    "hpAMxEshUyQlK-AM0PW2wfrnacNI",
    "MHTDO6TMUBRIA2XWG5LUDACK24.nodes.example.org": "enr:-HW4QLAYqmrwllBEnzWWs7I5Ev2IAs7x_dZlbYd"
    "RdMUx5EyKHDXp7AV5CkuPGUPdvbv1_Ms1CPfhcGCvSElSosZmyoqAgmlkgnY0iXNlY3AyNTZrMaECriawHKWdDRk2xeZ"
    "krOXBQ0dfMFLHY4eENZwdufn1S1o",
}


def _walk(url: str, records: dict[str, str], **options: object) -> TreeWalk:
    """Runs a walk to its end against ``records`` as a DNS server would answer."""
    walk = TreeWalk(Link.from_url(url), **options)  # type: ignore[arg-type]
    asked = 0
    while not walk.done:
        names = walk.queries()
        assert names, "a walk that is not done has names to ask"
        for name in names:
            asked += 1
            if name in records:
                walk.answer(name, [records[name]])
            else:
                walk.lookup_failed(name, "NXDOMAIN")
    walk.asked = asked  # type: ignore[attr-defined]
    return walk


def _records(count: int) -> list[Enr]:
    return [
        Enr.build(Secp256k1PrivateKey.generate(), ip="127.0.0.1", tcp=60000 + i)
        for i in range(count)
    ]


def test_the_specification_example_tree() -> None:
    walk = _walk(EIP_URL, EIP_TREE)
    assert walk.errors == []
    assert walk.root is not None and walk.root.seq == 1
    assert len(walk.enrs) == 3
    assert {entry_hash(e.to_text()) for e in walk.enrs} == {
        "2XS2367YHAXJFGLZHVAWLQD4ZY",
        "H4FHT4B454P6UXFD7JCYQ5PWDY",
        "MHTDO6TMUBRIA2XWG5LUDACK24",
    }
    assert [str(link) for link in walk.links] == [
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@morenodes.example.org"
    ]


def test_a_root_signed_by_another_key_is_refused() -> None:
    other = Link.for_key(Secp256k1PrivateKey.generate().public_key, "nodes.example.org")
    with pytest.raises(InvalidEnrTree) as refused:
        _walk(other.to_url(), EIP_TREE)
    assert refused.value.reason == "signature"


def test_a_forged_entry_is_left_out_and_the_rest_kept() -> None:
    forged = dict(EIP_TREE)
    name = "2XS2367YHAXJFGLZHVAWLQD4ZY.nodes.example.org"
    forged[name] = _records(1)[0].to_text()  # a valid record, but not the one the hash names
    walk = _walk(EIP_URL, forged)
    assert [e.reason for e in walk.errors] == ["hash"]
    assert len(walk.enrs) == 2


def test_an_older_root_than_seen_before_is_refused() -> None:
    with pytest.raises(InvalidEnrTree) as refused:
        _walk(EIP_URL, EIP_TREE, last_seq=2)
    assert refused.value.reason == "stale"


def test_built_trees_read_back_whole_at_every_size() -> None:
    key = Secp256k1PrivateKey.generate()
    other = Link.for_key(Secp256k1PrivateKey.generate().public_key, "other.example.org")
    for count in (0, 1, MAX_CHILDREN, MAX_CHILDREN + 1, 200):
        enrs = _records(count)
        link, records = build_tree(key, "Nodes.Example.org.", enrs, [other], seq=7)
        assert link.domain == "nodes.example.org"
        walk = _walk(link.to_url(), records)
        assert walk.errors == [] and walk.root is not None and walk.root.seq == 7
        assert sorted(e.to_text() for e in walk.enrs) == sorted(e.to_text() for e in enrs)
        assert walk.links == [other]
        # Branches stay within 13 children so an answer fits one UDP packet.
        branches = [parse_entry(t) for t in records.values() if t.startswith("enrtree-branch:")]
        assert all(isinstance(b, Branch) and len(b.children) <= MAX_CHILDREN for b in branches)


def test_a_shared_cache_reads_only_what_changed() -> None:
    key = Secp256k1PrivateKey.generate()
    enrs = _records(40)
    link, first = build_tree(key, "nodes.example.org", enrs, seq=1)
    cache: dict[str, object] = {}
    whole = _walk(link.to_url(), first, cache=cache)
    _, second = build_tree(key, "nodes.example.org", [*enrs, *_records(1)], seq=2)
    again = _walk(link.to_url(), second, cache=cache, last_seq=1)
    assert len(again.enrs) == 41
    assert again.asked < whole.asked / 2  # type: ignore[attr-defined]


def test_misplaced_entries_and_missing_ones_are_reported() -> None:
    key = Secp256k1PrivateKey.generate()
    enrs = _records(3)
    other = Link.for_key(Secp256k1PrivateKey.generate().public_key, "other.example.org")
    # A tree whose node subtree holds a link, and whose link subtree holds a node record.
    _, records = build_tree(key, "x.example.org", [enrs[0]], [other])
    swapped = Root(entry_hash(other.to_url()), entry_hash(enrs[0].to_text()), 1).signed(key)
    records["x.example.org"] = swapped.to_text()
    walk = _walk(Link.for_key(key.public_key, "x.example.org").to_url(), records)
    assert sorted(e.reason for e in walk.errors) == ["misplaced", "misplaced"]
    assert walk.enrs == [] and walk.links == []
    del records[f"{entry_hash(other.to_url())}.x.example.org"]
    walk = _walk(Link.for_key(key.public_key, "x.example.org").to_url(), records)
    assert "missing" in [e.reason for e in walk.errors]


def test_a_tree_larger_than_allowed_stops_with_what_it_read() -> None:
    key = Secp256k1PrivateKey.generate()
    link, records = build_tree(key, "big.example.org", _records(60))
    walk = _walk(link.to_url(), records, max_entries=20)
    assert [e.reason for e in walk.errors] == ["too_large"]
    assert 0 < len(walk.enrs) < 60


@pytest.mark.parametrize(
    "url",
    [
        "enrtree://nodes.example.org",
        "https://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@nodes.example.org",
        "enrtree://AP62DT7WOTEQZGQZOU474PP3KMEGVTTE7A7NPRXKX3DUD57@nodes.example.org",
        "enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@bad domain",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidEnrTree):
        Link.from_url(url)


@given(st.text(max_size=600))
def test_any_text_parses_or_is_refused(text: str) -> None:
    with contextlib.suppress(InvalidEnrTree):
        parse_entry(text)
    with contextlib.suppress(InvalidEnrTree):
        Root.from_text(text)


@given(
    st.lists(st.sampled_from(sorted(EIP_TREE)), max_size=8),
    st.lists(
        st.one_of(
            st.text(max_size=80),
            st.sampled_from(list(EIP_TREE.values())).map(lambda t: t[: len(t) // 2]),
            st.sampled_from(["enrtree-branch:", "enrtree-branch:AAAA", "enr:", "enrtree://@"]),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_any_answers_end_the_walk_with_a_typed_error_at_worst(
    names: list[str], texts: list[str]
) -> None:
    records = dict(EIP_TREE)
    for name, text in zip(names, texts, strict=False):
        records[name] = text
    try:
        walk = _walk(EIP_URL, records)
    except InvalidEnrTree:
        return
    assert walk.done
