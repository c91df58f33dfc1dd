"""Issue 19, points 2, 3 and 4 (browser side): drafts that survive, the upload queue, conflicts,
photos resized on the phone — static/js/capture.js in Chromium at 390 px.

A director types a visit on a slow connection (slow 3G), with a 4000×3000 photo; with no signal
the visit waits on the phone (IndexedDB), survives a reload and the browser being closed, and is
uploaded once when the signal returns — also when an upload reached the server but its answer
was lost. A visit queued for a file closed meanwhile, and a correction of a visit changed on
another device, open the conflict screen instead of overwriting anything.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import BrowserContext, Page, expect

from children.models import Child, ParentContact
from children.services import child_close, child_update, today
from visits.models import Visit
from visits.services import visit_record, visit_update

from ..factories import make_child
from .conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PHONE, TIMEOUT_MS, log_in

journey = pytest.mark.django_db(transaction=True)
pytestmark = pytest.mark.xdist_group("browser")

QUEUED = "已保存在手机上，有信号后自动上传"
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400 * 1024 / 8,
    "uploadThroughput": 400 * 1024 / 8,
}


@pytest.fixture
def phone(browser, live_server, tmp_path) -> Iterator[Callable[..., tuple[BrowserContext, Page]]]:
    """phone() → (context, page): a persistent Chromium profile at 390 px (IndexedDB and cookies
    kept in tmp_path), so "close the browser and open it again" is phone() a second time. Fails
    the test on a JavaScript error or a CSP violation."""
    profile = tmp_path / "profile"
    problems: list[str] = []
    opened: list[BrowserContext] = []

    def launch(**options) -> tuple[BrowserContext, Page]:
        for context in opened:
            context.close()
        opened.clear()
        context = browser.browser_type.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            viewport=PHONE,
            base_url=live_server.url,
            locale="zh-CN",
            is_mobile=True,
            has_touch=True,
            **options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        opened.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        return context, page

    yield launch
    for context in opened:
        context.close()
    assert not problems, "errors in the browser:\n" + "\n".join(problems)


@pytest.fixture
def shoot390(request) -> Callable[[Page, str], None]:
    journey_name = re.sub(r"^test_", "", request.node.name)
    counter = iter(range(1, 100))

    def take(page: Page, step: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / f"{journey_name}-{next(counter):02d}-{step}.png"), full_page=True
        )

    return take


def throttle(context: BrowserContext, page: Page, *, on: bool = True) -> Callable[[bool], None]:
    """Slow 3G (400 ms latency, 400 kbit/s each way); returns signal(on) to lose the network and
    get it back (navigator.onLine and its events follow, as on a phone). `on`: whether there is a
    signal now — throttling a phone that has none must not tell its pages the signal is back
    (they would try, fail and wait, and the real return would then fire no `online` event)."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {**SLOW_3G, "offline": not on})

    def signal(on: bool) -> None:
        cdp.send("Network.emulateNetworkConditions", {**SLOW_3G, "offline": not on})
        context.set_offline(not on)

    return signal


def big_photo(path) -> str:
    """A 4000×3000 phone-like JPEG (a few MB): gradients and shapes, not a flat colour."""
    image = Image.new("RGB", (4000, 3000))
    draw = ImageDraw.Draw(image)
    for y in range(0, 3000, 6):
        draw.rectangle([0, y, 4000, y + 6], fill=(y * 255 // 3000, 120, 255 - y * 255 // 3000))
    rng = random.Random(19)
    for _ in range(1500):
        x, y = rng.randrange(4000), rng.randrange(3000)
        r = rng.randrange(10, 120)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    # A little sensor noise, as a real photo has (and what makes a JPEG heavy).
    image = Image.blend(image, Image.effect_noise((4000, 3000), 60).convert("RGB"), 0.12)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    path.write_bytes(buffer.getvalue())
    assert len(buffer.getvalue()) > 2_000_000
    return str(path)


def stored(page: Page, store: str) -> list[dict]:
    """The current user's records of an IndexedDB store, photos as their sizes."""
    return page.evaluate(
        """async (store) => {
          const db = await window.shouwangCapture.db();
          const all = await new Promise((ok, ko) => {
            const r = db.transaction(store).objectStore(store).getAll();
            r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error);
          });
          return all.filter(x => x.user === document.body.dataset.user).map(x => ({
            key: x.key, status: x.status, fields: x.fields, clientId: x.clientId,
            conflict: x.conflict ? x.conflict.reason : null,
            photos: (x.photos || []).map(p => ({size: p.blob.size, width: p.width,
                                               height: p.height, type: p.blob.type})),
          }));
        }""",
        store,
    )


def fill_every_field(page: Page, photo: str) -> dict:
    """Every field of the visit form, the photo too; returns what was typed."""
    day = today()
    follow = day + timedelta(days=14)
    page.locator("#id_visited_on").fill(day.isoformat())
    page.locator("label[for=id_kind_0]").click()  # 入户走访
    page.locator("input[name=seen][value=child] + label").click()
    page.locator("input[name=seen][value=caregiver] + label").click()
    page.locator("input[name=guardian_present][value=true] + label").click()
    page.locator("input[name=caregiver_capable][value=true] + label").click()
    page.locator("input[name=in_school][value=false] + label").click()
    page.locator("input[name=safety_concern][value=false] + label").click()
    page.locator("#id_notes").fill("奶奶身体还好，孩子在家写作业。")
    page.locator("summary").click()
    page.locator("input[name=safety_hazards][value=drowning]").check()
    page.locator("input[name=safety_hazards][value=traffic]").check()
    page.locator("#id_family_situation").fill("父母在浙江打工。")
    page.locator("#id_health").fill("身体健康，情绪稳定。")
    page.locator("#id_needs").fill("需要辅导数学。")
    page.locator("#id_actions_taken").fill("联系了学校老师。")
    page.locator("#id_follow_up_on").fill(follow.isoformat())
    page.locator("#id_follow_up_note").fill("两周后再电话回访。")
    page.locator("input[type=file]").set_input_files(photo)
    expect(page.locator(".sw-thumb")).to_have_count(1, timeout=60_000)
    return {"visited_on": day, "follow_up_on": follow}


def assert_visit_has_every_field(visit: Visit, typed: dict) -> None:
    assert visit.visited_on == typed["visited_on"]
    assert visit.kind == "home"
    assert sorted(visit.seen) == ["caregiver", "child"]
    assert visit.guardian_present is True
    assert visit.caregiver_capable is True
    assert visit.in_school is False
    assert visit.safety_concern is False
    assert visit.notes == "奶奶身体还好，孩子在家写作业。"
    assert sorted(visit.safety_hazards) == ["drowning", "traffic"]
    assert visit.family_situation == "父母在浙江打工。"
    assert visit.health == "身体健康，情绪稳定。"
    assert visit.needs == "需要辅导数学。"
    assert visit.actions_taken == "联系了学校老师。"
    assert visit.follow_up_on == typed["follow_up_on"]
    assert visit.follow_up_note == "两周后再电话回访。"
    photos = list(visit.photos.all())
    assert len(photos) == 1


@journey
def test_draft_survives_a_reload_and_photos_are_limited(phone, shoot390, director_a, tmp_path):
    child = make_child(director_a, name="查小雨")
    _context, page = phone()
    log_in(page, director_a.username)
    page.goto(f"/visits/new/{child.pk}/")
    # The limits are stated before choosing.
    page.locator("summary").click()
    expect(page.locator("[data-capture-limits]")).to_contain_text("最多5张")
    expect(page.locator("[data-capture-limits]")).to_contain_text("1600")
    page.locator("#id_notes").fill("草稿里的记录")
    page.locator("input[name=seen][value=teacher] + label").click()
    page.locator("input[name=in_school][value=true] + label").click()
    page.locator("input[name=safety_hazards][value=online]").check()
    photo = big_photo(tmp_path / "p.jpg")
    page.locator("input[type=file]").set_input_files([photo])
    expect(page.locator(".sw-thumb")).to_have_count(1, timeout=60_000)
    client_id = page.locator("input[name=client_id]").input_value()
    assert re.fullmatch(r"[0-9a-f-]{36}", client_id)
    page.wait_for_timeout(600)  # the debounced save

    page.reload()
    expect(page.get_by_text("已恢复未提交的草稿")).to_be_visible()
    expect(page.locator("#id_notes")).to_have_value("草稿里的记录")
    expect(page.locator("input[name=seen][value=teacher]")).to_be_checked()
    expect(page.locator("input[name=in_school][value=true]")).to_be_checked()
    expect(page.locator("input[name=safety_hazards][value=online]")).to_be_checked()
    expect(page.locator(".sw-thumb")).to_have_count(1)
    assert page.locator("input[name=client_id]").input_value() == client_id

    # Six photos in all is one too many: said at once, at the field.
    page.locator("input[type=file]").set_input_files([photo] * 5)
    expect(page.locator("[data-capture-photo-error]")).to_contain_text("最多5张", timeout=90_000)
    expect(page.locator(".sw-thumb")).to_have_count(5, timeout=90_000)
    shoot390(page, "form-with-photos")
    # Clearing the draft empties the form and forgets it.
    page.get_by_role("button", name="清除草稿").click()
    expect(page.locator("#id_notes")).to_have_value("")
    expect(page.locator(".sw-thumb")).to_have_count(0)
    assert stored(page, "drafts") == []
    assert not Visit.objects.exists()


@journey
def test_offline_visit_waits_and_is_uploaded_once(phone, shoot390, director_a, tmp_path):
    child = make_child(director_a, name="查小宇")
    context, page = phone()
    log_in(page, director_a.username)
    # With a signal, the app installs itself (static/js/offline.js): pages open offline from now.
    page.wait_for_function("() => !!navigator.serviceWorker?.controller")
    signal = throttle(context, page)
    page.goto(f"/visits/new/{child.pk}/")
    typed = fill_every_field(page, big_photo(tmp_path / "IMG_4000x3000.jpg"))
    page.wait_for_timeout(600)
    (draft,) = stored(page, "drafts")
    (resized,) = draft["photos"]
    assert resized["type"] == "image/jpeg"
    assert resized["size"] <= 400 * 1024
    assert max(resized["width"], resized["height"]) == 1600
    assert resized["width"] / resized["height"] == pytest.approx(4 / 3, rel=0.01)
    expect(page.locator(".sw-thumb")).to_contain_text("1600×1200")

    # No signal: Save keeps the visit on the phone, and says so in Chinese.
    signal(False)
    page.get_by_role("button", name="保存走访").click()
    expect(page.get_by_text(QUEUED)).to_be_visible()
    expect(page.locator("#sync-count")).to_be_visible()
    expect(page.locator("#sync-count")).to_have_text(re.compile(r"\b1\b"))
    shoot390(page, "queued")
    assert not Visit.objects.exists()
    (waiting,) = stored(page, "queue")
    assert waiting["status"] == "waiting"
    assert stored(page, "drafts") == []

    # Still no signal: the page reloads from the phone (the service worker), the visit waits.
    page.reload()
    expect(page.locator("#sync-count")).to_have_text(re.compile(r"\b1\b"))
    # The battery dies; the phone is switched on again, still with no signal.
    context.close()
    context, page = phone(offline=True)
    page.goto(f"/visits/new/{child.pk}/")
    expect(page.locator("#sync-count")).to_have_text(re.compile(r"\b1\b"))
    # The signal returns (slow): closing the browser ended the session, so the phone asks to
    # sign in again before it uploads anything.
    signal = throttle(context, page, on=False)
    signal(True)
    expect(page.locator("#sync-count")).to_have_class(re.compile("text-bg-danger"), timeout=60_000)
    assert not Visit.objects.exists()
    log_in(page, director_a.username)
    page.goto("/visits/offline/queue/")
    expect(page.locator("[data-capture-empty]")).to_be_visible(timeout=60_000)
    expect(page.locator("#sync-count")).to_be_hidden()
    visit = Visit.objects.get()
    assert str(visit.client_id) == waiting["key"]
    assert_visit_has_every_field(visit, typed)
    assert stored(page, "queue") == []


@journey
def test_a_doubled_upload_creates_one_visit(phone, director_a, tmp_path):
    child = make_child(director_a, name="查小宁")
    _context, page = phone()
    log_in(page, director_a.username)
    page.goto(f"/visits/new/{child.pk}/")
    typed = fill_every_field(page, big_photo(tmp_path / "a.jpg"))
    # The first upload reaches the server, but its answer is lost on the way back.
    lost = []

    def lose_the_answer(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r"/visits/new/"), lose_the_answer)
    page.get_by_role("button", name="保存走访").click()
    # The phone could not know it arrived: it keeps it and tries again, and the server
    # recognises the visit by its client id.
    expect(page).to_have_url(re.compile(r"/visits/$"))
    page.goto("/visits/offline/queue/")
    expect(page.locator("[data-capture-empty]")).to_be_visible(timeout=60_000)
    assert lost == [201]
    visit = Visit.objects.get()
    assert_visit_has_every_field(visit, typed)
    assert stored(page, "queue") == []


@journey
def test_a_visit_for_a_file_closed_meanwhile_opens_the_conflict_screen(phone, shoot390, director_a):
    child = make_child(director_a, name="查小云")
    context, page = phone()
    log_in(page, director_a.username)
    page.goto(f"/visits/new/{child.pk}/")
    page.locator("#id_notes").fill("孩子不在家，邻居说去了外婆家。")
    context.set_offline(True)
    page.get_by_role("button", name="保存走访").click()
    expect(page.get_by_text(QUEUED)).to_be_visible()
    # Meanwhile the file is closed in the office.
    child_close(user=director_a, child=Child.objects.get(pk=child.pk), reason="moved_away")
    context.set_offline(False)
    page.goto("/visits/offline/queue/")
    card = page.locator("[data-item]")
    expect(card.get_by_role("button", name="放弃")).to_be_visible(timeout=30_000)
    expect(card.get_by_role("button", name="保留在手机上")).to_be_visible()
    # Both versions: mine, and the file as it is now.
    expect(card).to_contain_text("孩子不在家，邻居说去了外婆家。")
    expect(card).to_contain_text("我的")
    expect(card).to_contain_text("服务器")
    expect(page.locator("#sync-count")).to_have_class(re.compile("text-bg-danger"))
    shoot390(page, "conflict-closed")
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="放弃").click()
    expect(page.locator("[data-capture-empty]")).to_be_visible()
    expect(page.locator("#sync-count")).to_be_hidden()
    assert not Visit.objects.exists()
    assert stored(page, "queue") == []


@journey
def test_a_correction_edited_on_two_devices_is_merged_field_by_field(phone, shoot390, director_a):
    child = make_child(director_a, name="查小月")
    visit = visit_record(
        user=director_a,
        child=child,
        visited_on=today(),
        kind="home",
        seen=["child"],
        notes="第一次的记录",
        needs="",
        in_school=True,
    )
    _context, page = phone()
    log_in(page, director_a.username)
    page.goto(f"/visits/{visit.pk}/edit/")
    expect(page.locator("#id_notes")).to_have_value("第一次的记录")
    page.locator("#id_notes").fill("手机上改的记录")
    page.locator("input[name=in_school][value=false] + label").click()
    page.wait_for_timeout(600)
    # Meanwhile the same visit is corrected on another device.
    visit_update(
        user=director_a,
        visit=Visit.objects.get(pk=visit.pk),
        changes={"notes": "电脑上改的记录", "needs": "需要课外书"},
    )
    page.get_by_role("button", name="保存走访").click()
    expect(page).to_have_url(re.compile(r"/visits/offline/queue/"))
    card = page.locator("[data-item]")
    expect(card.locator(".sw-merge-table")).to_be_visible()
    expect(card).to_contain_text("手机上改的记录")
    expect(card).to_contain_text("电脑上改的记录")
    shoot390(page, "conflict-edited")
    # Keep the computer's notes and needs, and the phone's "not in school".
    card.locator("input[data-merge-field=notes][value=server]").check()
    card.locator("input[data-merge-field=needs][value=server]").check()
    card.get_by_role("button", name="合并").click()
    expect(page.locator("[data-capture-empty]")).to_be_visible(timeout=30_000)
    visit.refresh_from_db()
    assert visit.notes == "电脑上改的记录"
    assert visit.needs == "需要课外书"
    assert visit.in_school is False
    assert Visit.objects.count() == 1


@journey
def test_a_parent_contact_for_a_file_changed_meanwhile_is_merged_in_its_form(
    phone, shoot390, director_a
):
    child = make_child(director_a, name="查小星", address="查济村一组1号")
    context, page = phone()
    log_in(page, director_a.username)
    page.goto(f"/children/{child.pk}/parent-contacts/new/")
    page.locator("#id_channel").select_option("video")
    page.locator("#id_note").fill("妈妈说下个月回家。")
    context.set_offline(True)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text(QUEUED)).to_be_visible()
    # Meanwhile the file is changed in the office (the family moved within the village).
    child_update(
        user=director_a, child=Child.objects.get(pk=child.pk), changes={"address": "查济村三组8号"}
    )
    context.set_offline(False)
    page.goto("/visits/offline/queue/")
    card = page.locator("[data-item]")
    expect(card.get_by_role("button", name="合并")).to_be_visible(timeout=30_000)
    expect(card).to_contain_text("妈妈说下个月回家。")
    # Merge: the form again, filled with mine, next to the file as it is now.
    card.get_by_role("button", name="合并").click()
    expect(page).to_have_url(re.compile(r"/parent-contacts/new/"))
    expect(page.locator("[data-capture-merge-panel]")).to_be_visible()
    expect(page.locator("#id_note")).to_have_value("妈妈说下个月回家。")
    expect(page.locator("#id_channel")).to_have_value("video")
    page.locator("#id_note").fill("妈妈说下个月回家，已告知新住址。")
    shoot390(page, "merge-form")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(rf"/children/{child.pk}/$"))
    expect(page.locator(".alert-success")).to_be_visible()
    (contact,) = ParentContact.objects.filter(child=child)
    assert contact.channel == "video"
    assert contact.note == "妈妈说下个月回家，已告知新住址。"
    assert stored(page, "queue") == []
    assert stored(page, "drafts") == []


@journey
def test_a_refused_form_shows_its_errors_and_keeps_the_photos(phone, director_a, tmp_path):
    child = make_child(director_a, name="查小林")
    _context, page = phone()
    log_in(page, director_a.username)
    page.goto(f"/visits/new/{child.pk}/")
    page.locator("#id_visited_on").fill("")
    page.locator("#id_notes").fill("没有填日期")
    page.locator("summary").click()
    page.locator("input[type=file]").set_input_files(big_photo(tmp_path / "b.jpg"))
    expect(page.locator(".sw-thumb")).to_have_count(1, timeout=60_000)
    page.get_by_role("button", name="保存走访").click()
    # The server's page with its message replaces the form; the photo is still there.
    expect(page.locator("#div_id_visited_on .invalid-feedback")).to_be_visible()
    expect(page.locator("#id_notes")).to_have_value("没有填日期")
    expect(page.locator(".sw-thumb")).to_have_count(1)
    assert not Visit.objects.exists()
    page.locator("#id_visited_on").fill(today().isoformat())
    page.get_by_role("button", name="保存走访").click()
    expect(page).to_have_url(re.compile(r"/visits/$"))
    expect(page.locator(".alert-success")).to_be_visible()
    visit = Visit.objects.get()
    assert visit.notes == "没有填日期"
    assert visit.photos.count() == 1
    assert stored(page, "drafts") == []
