"""Subscriptions in a real browser: a person subscribes to a channel, sees the preview of what
the first check takes, then sees the first downloads arrive; checks now, pauses, reads the
history, deletes it keeping its downloads. axe finds no serious or critical problem on the
page, in light and dark, at desktop and phone size."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.axe import Axe, at_each_size_and_scheme, context_options
from tests.e2e.conftest import AppServer, NewContext, screenshot
from tests.media import MediaServer
from tests.test_subscriptions import Channel

pytestmark = pytest.mark.e2e

LONG_AGO = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def channel_of(media: MediaServer, *titles: str) -> Channel:
    channel = Channel(media)
    for n, title in enumerate(titles):
        channel.add(title, published=LONG_AGO + dt.timedelta(days=n), duration=6)
    return channel


def open_subscriptions(context: BrowserContext, server: AppServer) -> Page:
    page = context.new_page()
    page.goto(server.base + "/subscriptions")
    expect(page.get_by_role("heading", name="New subscription")).to_be_visible()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    return page


def test_subscribe_see_the_preview_then_the_first_downloads_arrive(
    new_context: NewContext, server: AppServer, media: MediaServer
) -> None:
    channel = channel_of(media, "Episode one", "Episode two", "Episode three")
    page = open_subscriptions(new_context(), server)
    expect(page.get_by_test_id("no-subscriptions")).to_be_visible()

    page.get_by_test_id("subscription-url").fill(channel.url)
    page.get_by_test_id("first-latest").check()
    page.get_by_test_id("first-count").fill("2")
    page.get_by_test_id("subscription-preview").click()
    result = page.get_by_test_id("subscription-preview-result")
    expect(result.get_by_test_id("preview-item")).to_have_count(3)
    expect(result.get_by_test_id("preview-count")).to_have_text("2")
    expect(result.locator('[data-outcome="queued"]')).to_have_count(2)
    expect(result.locator('[data-outcome="skipped"]')).to_contain_text("Episode one")
    screenshot(page, "subscriptions-preview")

    page.get_by_test_id("subscription-save").click()
    card = page.get_by_test_id("subscription")
    expect(card).to_have_count(1)
    expect(card.get_by_role("heading")).to_have_text(f"Channel {channel.name}")
    jobs = card.get_by_test_id("subscription-job")
    expect(jobs).to_have_count(2, timeout=30_000)
    expect(jobs.filter(has_text="Episode three")).to_be_visible()
    expect(jobs.filter(has_text="Episode two")).to_be_visible()
    for n in range(2):
        expect(jobs.nth(n).get_by_test_id("job-status")).to_have_text("Finished", timeout=60_000)
    expect(card.get_by_test_id("subscription-status")).to_contain_text("checked")
    screenshot(page, "subscriptions-first-downloads")

    # The downloads are ordinary jobs: the download page shows them too.
    page.get_by_test_id("nav-downloads").click()
    expect(page.locator('[data-testid="job-row"]')).to_have_count(2)
    page.get_by_test_id("nav-subscriptions").click()
    card = page.get_by_test_id("subscription")

    # A new episode, "check now": exactly one more download.
    channel.add("Episode four")
    card.get_by_test_id("subscription-check").click()
    expect(card.get_by_test_id("subscription-result")).to_contain_text("1 new, 1 queued")
    expect(card.get_by_test_id("subscription-job")).to_have_count(3)

    card.get_by_test_id("subscription-pause").click()
    expect(card.get_by_text("Paused", exact=True)).to_be_visible()
    expect(card.get_by_test_id("subscription-pause")).to_have_text("Resume")

    card.get_by_test_id("subscription-history-toggle").click()
    history = card.get_by_test_id("subscription-history")
    expect(history.get_by_test_id("history-check")).to_have_count(2)
    expect(history).to_contain_text("not among the latest 2")

    card.get_by_test_id("subscription-delete").click()
    expect(card).to_contain_text("3 downloads")
    card.get_by_test_id("delete-keep").click()
    expect(page.get_by_test_id("subscription")).to_have_count(0)
    page.get_by_test_id("nav-downloads").click()
    expect(page.locator('[data-testid="job-row"]')).to_have_count(3)  # kept


@at_each_size_and_scheme
def test_the_subscriptions_page_has_no_serious_accessibility_problem(
    new_context: NewContext,
    server: AppServer,
    media: MediaServer,
    axe_source: str,
    size: str,
    scheme: str,
) -> None:
    context = new_context(**context_options(size, scheme))
    channel = channel_of(media, "First", "Second")
    broken = channel_of(media, "Never seen")
    broken.fail(500)
    page = open_subscriptions(context, server)
    cards = page.get_by_test_id("subscription")
    for count, url in enumerate((broken.url, channel.url), start=1):
        page.get_by_test_id("subscription-url").fill(url)
        page.get_by_test_id("first-latest").check()
        page.get_by_test_id("first-count").fill("1")
        page.get_by_test_id("subscription-save").click()
        expect(cards).to_have_count(count)
        expect(page.get_by_test_id("subscription-url")).to_have_value("")
    expect(page.get_by_test_id("subscription-last-error")).to_contain_text("500")
    expect(page.get_by_test_id("subscription-job")).to_have_count(1)
    page.get_by_test_id("subscription-url").fill(channel.url)
    page.get_by_test_id("subscription-preview").click()
    expect(page.get_by_test_id("preview-item")).to_have_count(2)
    good = cards.filter(has_text=f"Channel {channel.name}")
    good.get_by_test_id("subscription-history-toggle").click()
    expect(good.get_by_test_id("history-check")).to_have_count(1)
    good.get_by_test_id("subscription-edit").click()
    expect(good.get_by_test_id("subscription-form")).to_be_visible()
    axe = Axe(page, axe_source)
    axe.check("subscriptions")
    screenshot(page, f"subscriptions-a11y-{size}-{scheme}")
    axe.assert_clean(f"{size} {scheme}")


def test_an_archived_item_is_skipped_and_can_be_downloaded_again_on_purpose(
    new_context: NewContext, server: AppServer, media: MediaServer
) -> None:
    channel = channel_of(media, "Only episode")
    page = open_subscriptions(new_context(), server)
    cards = page.get_by_test_id("subscription")
    for count in (1, 2):
        page.get_by_test_id("subscription-url").fill(channel.url)
        page.get_by_test_id("first-latest").check()
        page.get_by_test_id("subscription-save").click()
        expect(cards).to_have_count(count)
        if count == 1:
            job = cards.first.get_by_test_id("subscription-job")
            expect(job.get_by_test_id("job-status")).to_have_text("Finished", timeout=60_000)
    second = cards.first  # newest first
    expect(second.get_by_test_id("subscription-status")).to_contain_text("checked")
    expect(second.get_by_test_id("subscription-job")).to_have_count(0)
    second.get_by_test_id("subscription-history-toggle").click()
    expect(second.get_by_test_id("subscription-history")).to_contain_text("already downloaded")
    second.get_by_test_id("download-again").click()
    expect(second.get_by_test_id("download-again")).to_have_text("Added")
    page.get_by_test_id("nav-downloads").click()
    expect(page.locator('[data-testid="job-row"]')).to_have_count(2)
