"""Identity matching across tools: pure functions over a hand-built account book."""

from __future__ import annotations

import duckdb

from resources.sources import ENTITIES
from resources.sources.bitbucket.schema import raw_author_email, raw_author_name
from resources.sync.identities import (
    AccountBook,
    cluster_people,
    gather_accounts,
    person_id_for,
    person_references,
)

ORG_KEY = "k" * 64


def book_of_three_people() -> AccountBook:
    book = AccountBook()
    # Ada: same email on GitHub, Jira and Slack; commits under a GitHub no-reply address.
    book.add("github", 101, login="ada-l", email="Ada@Example.com", display_name="Ada L")
    book.add("jira", "5b10ac8d", email="ada@example.com", display_name="Ada Lovelace")
    book.add("slack", "U0ADA", login="ada", email="ada@example.com")
    book.add_email("101+ada-l@users.noreply.github.com", "Ada L")
    # Grace: different email on Slack, linked only through her commit's GitHub author id.
    grace_gh = book.add("github", 202, login="ghopper")
    book.add("slack", "U0GRACE", login="grace", email="grace@navy.example")
    book.link(book.add_email("grace.hopper@example.com", "Grace"), grace_gh)
    # A bot that commits.
    book.add("github", 303, login="dependabot[bot]", is_bot=False)
    book.add_email("49699333+dependabot[bot]@users.noreply.github.com")
    return book


def people_by_system_key(people):
    return {(a.system, a.key): p for p in people for a in p.accounts}


def test_emails_noreply_and_commit_author_ids_link_accounts():
    people = cluster_people(book_of_three_people(), org_key=ORG_KEY,
                            bot_patterns=[r"\[bot\]$"])
    index = people_by_system_key(people)
    ada = index[("github", "101")]
    assert index[("jira", "5b10ac8d")] is ada and index[("slack", "U0ADA")] is ada
    assert index[("email", "101+ada-l@users.noreply.github.com")] is ada
    assert ada.email == "ada@example.com" and not ada.is_bot
    grace = index[("github", "202")]
    assert index[("email", "grace.hopper@example.com")] is grace
    assert index[("slack", "U0GRACE")] is not grace  # nothing links the Slack account
    bot = index[("github", "303")]
    assert bot.is_bot and index[("email", "49699333+dependabot[bot]@users.noreply.github.com")] is bot
    assert len(people) == 4


def test_overrides_merge_split_and_teams():
    people = cluster_people(
        book_of_three_people(), org_key=ORG_KEY,
        merges=[["github:ghopper", "slack:grace"]],
        splits=["jira:5b10ac8d"],
        teams={"compilers": ["github:ghopper"], "engines": ["email:ada@example.com"]},
    )
    index = people_by_system_key(people)
    assert index[("slack", "U0GRACE")] is index[("github", "202")]
    assert index[("jira", "5b10ac8d")] is not index[("github", "101")]
    assert index[("github", "202")].team == "compilers"
    assert index[("github", "101")].team == "engines"


def test_person_ids_are_stable_pseudonyms_keyed_by_the_org():
    first = cluster_people(book_of_three_people(), org_key=ORG_KEY)
    again = cluster_people(book_of_three_people(), org_key=ORG_KEY)
    other_org = cluster_people(book_of_three_people(), org_key="z" * 64)
    assert [p.person_id for p in first] == [p.person_id for p in again]
    assert not {p.person_id for p in first} & {p.person_id for p in other_org}
    for person in first:
        assert person.person_id.startswith("p_") and len(person.person_id) == 18
        for account in person.accounts:
            assert account.key not in person.person_id
    assert person_id_for(ORG_KEY, list(first[0].accounts)) == first[0].person_id


def test_a_bitbucket_commit_links_its_email_to_the_atlassian_account_it_maps_to():
    """Bitbucket's commit author is an Atlassian account (a 'jira' account): the commit's email
    links it to the person of that email elsewhere, and the workspace member is that account."""
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA metadata")
    connection.execute("CREATE TABLE metadata.bitbucket_commits (connection_id VARCHAR, "
                       "author_email VARCHAR, author_name VARCHAR, author_account_id VARCHAR)")
    connection.execute("INSERT INTO metadata.bitbucket_commits VALUES "
                       "('c', 'ada@example.com', 'Ada', 'aa-557058')")
    connection.execute("CREATE TABLE metadata.bitbucket_users (connection_id VARCHAR, "
                       "account_id VARCHAR, nickname VARCHAR, display_name VARCHAR)")
    connection.execute("INSERT INTO metadata.bitbucket_users VALUES "
                       "('c', 'aa-557058', 'ada-l', 'Ada L')")
    book = gather_accounts(connection, person_references(ENTITIES.values()),
                           {"bitbucket_commits", "bitbucket_users"})
    book.add("github", 101, login="ada-l", email="ada@example.com")
    index = people_by_system_key(cluster_people(book, org_key=ORG_KEY))
    assert index[("jira", "aa-557058")] is index[("github", "101")]


def test_raw_commit_authors_split_into_name_and_email():
    assert raw_author_email("Ana Lima <ana@example.com>") == "ana@example.com"
    assert raw_author_name("Ana Lima <ana@example.com>") == "Ana Lima"
    assert raw_author_email("build bot") is None and raw_author_name("build bot") == "build bot"
    assert raw_author_email("<>") is None and raw_author_name("<>") is None
