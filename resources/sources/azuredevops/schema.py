"""Azure DevOps' allow-list (REST API 7.x): what Sieve keeps of Git repositories, pull requests,
their reviewers, votes and commits, pipeline runs, work items, their state and iteration
transitions, iterations, and of the identities they name. Descriptions, thread and
comment texts, commit comments and merge commit messages are dropped."""

from __future__ import annotations

from resources.sources.allow_list import (
    Column,
    Entity,
    PersonColumns,
    col,
    item_count,
    names,
    parent,
    text_length,
    ts,
)


def _identity(prefix: str, path: str) -> tuple[Column, Column]:
    """An identity reference: its id and unique name (the sign-in email for Entra ID users)."""
    return (col(f"{prefix}_id", "VARCHAR", f"{path}.id"),
            col(f"{prefix}_unique_name", "VARCHAR", f"{path}.uniqueName"))


def unique_names(reviewers: list[dict]) -> list[str]:
    """Reviewers' unique names (groups included: a team asked to review)."""
    return [r["uniqueName"] for r in reviewers if isinstance(r, dict) and r.get("uniqueName")]


def approvals(reviewers: list[dict]) -> int:
    """Reviewers whose current vote approves (10, or 5: approved with suggestions)."""
    return sum(1 for r in reviewers if isinstance(r, dict) and (r.get("vote") or 0) > 0)


def _without_refs_heads(value: str) -> str:
    """A branch ref as its name ("refs/heads/main" is "main"); other refs are kept whole."""
    return value.removeprefix("refs/heads/")


AZUREDEVOPS_REPOSITORIES = Entity(
    "azuredevops_repositories", "azuredevops", "GET {project}/_apis/git/repositories",
    (
        col("id", "VARCHAR"), col("name", "VARCHAR", scrub=True),
        col("project_id", "VARCHAR", "project.id"),
        col("project_name", "VARCHAR", "project.name", scrub=True),
        col("default_branch", "VARCHAR", "defaultBranch", _without_refs_heads),
        col("size_bytes", "BIGINT", "size"), col("is_disabled", "BOOLEAN", "isDisabled"),
    ),
    ("id",),
    description="Git repositories of the connection's projects; URLs are dropped.",
)

AZUREDEVOPS_PULL_REQUESTS = Entity(
    "azuredevops_pull_requests", "azuredevops",
    "GET {project}/_apis/git/repositories/{id}/pullrequests (searchCriteria)",
    (
        col("pull_request_id", "INTEGER", "pullRequestId"),
        col("repository_id", "VARCHAR", "repository.id"),
        col("project_id", "VARCHAR", "repository.project.id"),
        col("title", "VARCHAR", scrub=True), col("status", "VARCHAR"),
        col("is_draft", "BOOLEAN", "isDraft"), *_identity("author", "createdBy"),
        *_identity("closed_by", "closedBy"),
        col("source_branch", "VARCHAR", "sourceRefName", _without_refs_heads),
        col("target_branch", "VARCHAR", "targetRefName", _without_refs_heads),
        col("merge_status", "VARCHAR", "mergeStatus"),
        col("merge_strategy", "VARCHAR", "completionOptions.mergeStrategy"),
        col("source_commit_id", "VARCHAR", "lastMergeSourceCommit.commitId"),
        col("target_commit_id", "VARCHAR", "lastMergeTargetCommit.commitId"),
        col("merge_commit_id", "VARCHAR", "lastMergeCommit.commitId"),
        col("labels", "VARCHAR[]", "labels", names, scrub=True),
        col("reviewer_unique_names", "VARCHAR[]", "reviewers", unique_names),
        col("reviewers_count", "INTEGER", "reviewers", item_count),
        col("approvals_count", "INTEGER", "reviewers", approvals),
        col("description_length", "INTEGER", "description", text_length),
        ts("created_at", "creationDate"), ts("closed_at", "closedDate"),
    ),
    ("pull_request_id",),
    description="Pull requests with their reviewers' unique names and how many approve now "
    "(votes and their times are in azuredevops_pr_votes); the description (its length kept) "
    "and the merge commit message are dropped. merge_commit_id is the commit the completion "
    "put on the target branch.",
)

AZUREDEVOPS_PR_VOTES = Entity(
    "azuredevops_pr_votes", "azuredevops",
    "GET .../pullRequests/{id}/threads: the VoteUpdate system threads",
    (
        parent("pull_request_id", "INTEGER"), parent("repository_id", "VARCHAR"),
        col("thread_id", "INTEGER", "id"), *_identity("reviewer", "votedBy"),
        col("vote", "SMALLINT"), ts("voted_at", "publishedDate"),
    ),
    ("pull_request_id", "thread_id"),
    description="When each vote was cast (the threads' system entries); every thread's "
    "comments, and every other thread, are dropped.",
)

AZUREDEVOPS_PR_COMMITS = Entity(
    "azuredevops_pr_commits", "azuredevops", "GET .../pullRequests/{id}/commits",
    (
        parent("pull_request_id", "INTEGER"), parent("repository_id", "VARCHAR"),
        col("sha", "VARCHAR", "commitId"),
        col("author_name", "VARCHAR", "author.name", scrub=True),
        col("author_email", "VARCHAR", "author.email"), ts("authored_at", "author.date"),
        col("committer_name", "VARCHAR", "committer.name", scrub=True),
        col("committer_email", "VARCHAR", "committer.email"),
        ts("committed_at", "committer.date"),
    ),
    ("pull_request_id", "sha"),
    description="Commits of a pull request; the comment (message) is dropped.",
)

AZUREDEVOPS_BUILDS = Entity(
    "azuredevops_builds", "azuredevops",
    "GET {project}/_apis/build/builds (queryOrder=finishTimeAscending, minTime > cursor)",
    (
        col("id", "BIGINT"), col("build_number", "VARCHAR", "buildNumber"),
        col("status", "VARCHAR"), col("result", "VARCHAR"), col("reason", "VARCHAR"),
        col("definition_id", "BIGINT", "definition.id"),
        col("definition_name", "VARCHAR", "definition.name"),
        col("project_id", "VARCHAR", "project.id"),
        col("repository_id", "VARCHAR", "repository.id"),
        col("repository_type", "VARCHAR", "repository.type"),
        col("source_branch", "VARCHAR", "sourceBranch", _without_refs_heads),
        col("source_version", "VARCHAR", "sourceVersion"),
        *_identity("requested_for", "requestedFor"),
        ts("queued_at", "queueTime"), ts("started_at", "startTime"),
        ts("finished_at", "finishTime"),
    ),
    ("id",),
    description="Pipeline runs (builds) once finished: a run of a production deployment "
    "pipeline is a deployment (docs/metrics.md). Trigger info (the commit message), parameters, "
    "logs and links are dropped.",
)

AZUREDEVOPS_USERS = Entity(
    "azuredevops_users", "azuredevops",
    "the identities pull requests, builds and work items name (author, closer, reviewers, "
    "voters, requester, assignee)",
    (
        col("id", "VARCHAR"), col("unique_name", "VARCHAR", "uniqueName"),
        col("display_name", "VARCHAR", "displayName", scrub=True),
    ),
    ("id",),
    description="People as Azure DevOps names them (unique name: the sign-in email); image "
    "URLs and descriptors are dropped. Groups are not kept.",
)

# Work items arrive flattened by the connector (field reference names hold dots; the mapping is
# connector.WORK_ITEM_FIELDS): it asks only for those fields, so descriptions, acceptance
# criteria and discussion never travel.
AZUREDEVOPS_WORK_ITEMS = Entity(
    "azuredevops_work_items", "azuredevops",
    "GET {project}/_apis/wit/workitems (ids: those with new revisions, fields, "
    "errorPolicy=omit)",
    (
        col("id", "INTEGER"), col("project_name", "VARCHAR", "teamProject", scrub=True),
        col("work_item_type", "VARCHAR", "workItemType"),
        col("title", "VARCHAR", "title", scrub=True),
        col("state", "VARCHAR", "state"),
        col("iteration_path", "VARCHAR", "iterationPath", scrub=True),
        *_identity("assigned_to", "assignedTo"),
        col("story_points", "DOUBLE", "storyPoints"),
        col("effort", "DOUBLE", "effort"),
        ts("created_at", "createdDate"), ts("changed_at", "changedDate"),
        ts("closed_at", "closedDate"),
    ),
    ("id",),
    description="Work items (Boards): type, title (PII scrubbed), state, iteration, assignee, "
    "story points or effort, created/changed/closed times. Description, acceptance criteria, "
    "discussion (System.History) and every other field are never requested.",
)

AZUREDEVOPS_WORK_ITEM_REVISIONS = Entity(
    "azuredevops_work_item_revisions", "azuredevops",
    "GET {project}/_apis/wit/reporting/workitemrevisions (fields=System.State,"
    "System.IterationPath,System.ChangedDate; continuationToken = cursor)",
    (
        col("work_item_id", "INTEGER", "id"), col("rev", "INTEGER"),
        ts("changed_at", "changedDate"), col("state", "VARCHAR", "state"),
        col("iteration_path", "VARCHAR", "iterationPath", scrub=True),
    ),
    ("work_item_id", "rev"),
    description="Each revision's state and iteration path with its time (the state and "
    "iteration transitions are the revisions where either differs from the one before); no "
    "other field of a revision (title, description, discussion) is requested, nor who made it.",
)

AZUREDEVOPS_ITERATIONS = Entity(
    "azuredevops_iterations", "azuredevops",
    "GET {project}/_apis/wit/classificationnodes/Iterations ($depth) and "
    "{project}/{project} Team/_apis/work/teamsettings/iterations",
    (
        col("id", "VARCHAR"), col("name", "VARCHAR", scrub=True),
        col("path", "VARCHAR", scrub=True),
        ts("start_at", "attributes.startDate"), ts("finish_at", "attributes.finishDate"),
        col("time_frame", "VARCHAR", "attributes.timeFrame"),
    ),
    ("id",),
    description="Every iteration (sprint) of each project, all teams', with their dates; the "
    "time frame (past, current, future) where the project's default team has selected it.",
)

ENTITIES = (
    AZUREDEVOPS_REPOSITORIES, AZUREDEVOPS_PULL_REQUESTS, AZUREDEVOPS_PR_VOTES,
    AZUREDEVOPS_PR_COMMITS, AZUREDEVOPS_BUILDS, AZUREDEVOPS_USERS, AZUREDEVOPS_WORK_ITEMS,
    AZUREDEVOPS_WORK_ITEM_REVISIONS, AZUREDEVOPS_ITERATIONS,
)

# The unique name of an Entra ID (or Microsoft account) user is their sign-in email.
_EMAIL = "case when contains({0}, '@') then {0} end"

USER_DIRECTORY = PersonColumns("azuredevops_users", "azuredevops", "id", "unique_name",
                               _EMAIL.format("unique_name"), "display_name")

# Identity references: `<p>_id` with `<p>_unique_name` is Azure DevOps' own convention.
PERSON_REFERENCES = tuple(
    PersonColumns(table, "azuredevops", f"{prefix}_id", f"{prefix}_unique_name",
                  _EMAIL.format(f"{prefix}_unique_name"))
    for table, prefix in (("azuredevops_pull_requests", "author"),
                          ("azuredevops_pull_requests", "closed_by"),
                          ("azuredevops_pr_votes", "reviewer"),
                          ("azuredevops_builds", "requested_for"),
                          ("azuredevops_work_items", "assigned_to")))
