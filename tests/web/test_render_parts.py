"""The HTML pieces the group and community screens share escape every outside value, quotes
too, in text and in attributes."""

from __future__ import annotations

from pystatus.web.render_parts import member_action, person_item

HOSTILE = "\"><script>alert('x')</script>"


def test_a_member_action_escapes_its_path_key_and_name() -> None:
    html = member_action(f"/groups/{HOSTILE}/remove", HOSTILE, "Remove", HOSTILE, HOSTILE)
    assert "<script>" not in html and "'x'" not in html
    assert html.count("<form") == 1 and html.count("<input") == 2  # csrf and member
    assert 'aria-label="Remove &quot;&gt;&lt;script&gt;' in html


def test_a_person_item_escapes_its_label_and_name_and_keeps_the_actions() -> None:
    html = person_item(
        HOSTILE, admin=True, actions="<form></form>", label=f"Request from {HOSTILE}"
    )
    assert "<script>" not in html
    assert html.startswith('<li aria-label="Request from &quot;&gt;')
    assert html.endswith(' <span class="badge">admin</span><form></form></li>')
