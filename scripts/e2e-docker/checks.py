#!/usr/bin/env python3
"""What a user checks on the running compose stack, through the published UI port only (used by e2e-docker.sh).

Subcommands (each exits non-zero with a message saying what was wrong):
  ui BASE            create a task with the UI's form, toggle it, delete it through the confirmation page;
                     a form posted without its CSRF token is refused (403) and changes nothing
  api BASE           create, read, patch and delete a task through the /api pass-through
  seed BASE FILE     create tasks (one with the UI, one with the API) and record their ids and titles in FILE
  snapshot BASE FILE record every task (all fields) in FILE, for verify
  verify BASE FILE   the tasks recorded in FILE are still there, in the API and on the UI's page
Standard library only, so it runs on any machine with python3.
"""

import html
import http.cookiejar
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from html.parser import HTMLParser

from cli import CheckFailed, run

TIMEOUT_S = 10


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


class Forms(HTMLParser):
    """Collects each form's action, method and fields (hidden and visible inputs, selects, textareas)."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").lower(),
                "fields": {},
            }
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea") and attrs.get("name"):
            self._form["fields"].setdefault(attrs["name"], attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


class Client:
    """A browser-like session: cookies kept, redirects followed (POST then 303 becomes GET)."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=TIMEOUT_S) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode()

    def page(self, path):
        status, _, body = self.request("GET", path)
        check(status == 200, f"GET {path}: expected 200, got {status}")
        return body

    def submit(self, form, **values):
        fields = dict(form["fields"], **values)
        body = urllib.parse.urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", urllib.parse.urlparse(form["action"]).path, body, headers)

    def api(self, method, path, payload=None):
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        status, resp_headers, text = self.request(method, path, body, headers)
        try:
            data = json.loads(text) if text else None
        except json.JSONDecodeError:
            raise CheckFailed(f"{method} {path}: the answer is not JSON: {text[:200]!r}") from None
        return status, resp_headers, data


def form_posting_to(page, action):
    parser = Forms()
    parser.feed(page)
    for form in parser.forms:
        if form["method"] == "post" and urllib.parse.urlparse(form["action"]).path == action:
            return form
    found = [f["action"] for f in parser.forms]
    raise CheckFailed(f"no form posting to {action} on the page (forms found: {found})")


def shows(page, text):
    return text in html.unescape(page)


def find_task(client, title):
    status, _, tasks = client.api("GET", "/api/tasks?" + urllib.parse.urlencode({"q": title}))
    check(status == 200, f"GET /api/tasks?q=...: expected 200, got {status}")
    matches = [t for t in tasks if t["title"] == title]
    check(len(matches) == 1, f"expected one task titled {title!r} in /api/tasks, found {len(matches)}")
    return matches[0]


def create_with_ui(client, title):
    form = form_posting_to(client.page("/"), "/tasks")
    check("csrf_token" in form["fields"] and form["fields"]["csrf_token"], "the add form carries no CSRF token")
    status, _, page = client.submit(form, title=title, description="made by e2e-docker.sh", priority="high")
    check(status == 200, f"adding a task with the form: expected 200 after the redirect, got {status}")
    check(shows(page, title), f"the page after adding does not show {title!r}")
    task = find_task(client, title)
    check(task["priority"] == "high" and task["completed"] is False, f"the task added with the UI is {task}")
    return task


def check_ui(base):
    client = Client(base)
    title = f"e2e ui task {uuid.uuid4().hex[:8]}"

    # A form posted without its token: refused, nothing created.
    status, _, _ = client.request(
        "POST", "/tasks", urllib.parse.urlencode({"title": title}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    check(status == 403, f"POST /tasks without a CSRF token: expected 403, got {status}")
    status, _, tasks = client.api("GET", "/api/tasks?" + urllib.parse.urlencode({"q": title}))
    check(status == 200 and tasks == [], "a task was created by a form without a CSRF token")

    task = create_with_ui(client, title)
    print(f"  ui: added {title!r} with the form (id {task['id']})")

    toggle = form_posting_to(client.page("/"), f"/tasks/{task['id']}/toggle")
    status, _, _ = client.submit(toggle)
    check(status == 200, f"toggling with the form: expected 200 after the redirect, got {status}")
    status, _, data = client.api("GET", f"/api/tasks/{task['id']}")
    check(status == 200 and data["completed"] is True, f"after the toggle the task is {data}")
    print("  ui: toggled it, the API shows it completed")

    confirm = form_posting_to(client.page(f"/tasks/{task['id']}/delete"), f"/tasks/{task['id']}/delete")
    status, _, page = client.submit(confirm)
    check(status == 200, f"deleting with the form: expected 200 after the redirect, got {status}")
    # The flash message may name the task; its list entry (anything carrying its id) must be gone.
    check(task["id"] not in page, "the page after deleting still lists the task")
    status, _, data = client.api("GET", f"/api/tasks/{task['id']}")
    check(status == 404, f"after deleting, GET /api/tasks/<id>: expected 404, got {status} {data}")
    print("  ui: deleted it through the confirmation page, the API answers 404")


def check_api(base):
    client = Client(base)
    title = f"e2e api task {uuid.uuid4().hex[:8]}"
    status, headers, task = client.api("POST", "/api/tasks", {"title": title, "priority": "low"})
    check(status == 201, f"POST /api/tasks: expected 201, got {status} {task}")
    check(headers.get("Location") == f"/api/tasks/{task['id']}", f"POST /api/tasks: Location is {headers.get('Location')}")
    expected_keys = {"id", "title", "description", "priority", "completed", "created_at", "updated_at"}
    check(set(task) == expected_keys, f"a task's JSON has the keys {sorted(task)}")
    check(task["title"] == title and task["priority"] == "low" and task["completed"] is False, f"created {task}")

    status, _, same = client.api("GET", f"/api/tasks/{task['id']}")
    check(status == 200 and same == task, f"GET /api/tasks/<id>: {status} {same}")
    status, _, patched = client.api("PATCH", f"/api/tasks/{task['id']}", {"completed": True})
    check(status == 200 and patched["completed"] is True, f"PATCH completed: {status} {patched}")
    status, _, deleted = client.api("DELETE", f"/api/tasks/{task['id']}")
    check(status == 200 and deleted == {"message": "Task deleted successfully"}, f"DELETE: {status} {deleted}")
    status, _, gone = client.api("GET", f"/api/tasks/{task['id']}")
    check(status == 404 and gone == {"error": "Task not found"}, f"GET after DELETE: {status} {gone}")
    print(f"  api: created, read, patched and deleted {title!r} through /api/tasks")

    # Titles sort by the alphabet on this image's PostgreSQL (the ICU collation), not byte by byte.
    tag = uuid.uuid4().hex[:8]
    made = [client.api("POST", "/api/tasks", {"title": f"{word} {tag}", "description": tag})
            for word in ("Zebra", "apple", "Éclair")]
    check(all(status == 201 for status, _, _ in made), f"POST of the sort's tasks: {made}")
    status, _, found = client.api("GET", f"/api/tasks?q={tag}&sort=title")
    order = [task["title"].split()[0] for task in found or []]
    check(status == 200 and order == ["apple", "Éclair", "Zebra"], f"sort=title gave {order}, not the alphabet")
    for _, _, task in made:
        client.api("DELETE", f"/api/tasks/{task['id']}")
    print(f"  api: sort=title is alphabetical ({', '.join(order)})")


def seed(base, path):
    client = Client(base)
    suffix = uuid.uuid4().hex[:8]
    with_ui = create_with_ui(client, f"e2e kept (ui) {suffix}")
    status, _, with_api = client.api("POST", "/api/tasks", {"title": f"e2e kept (api) {suffix}"})
    check(status == 201, f"POST /api/tasks: expected 201, got {status} {with_api}")
    with open(path, "w", encoding="utf-8") as out:
        json.dump([with_ui, with_api], out)
    print(f"  seeded {with_ui['title']!r} and {with_api['title']!r}")


def snapshot(base, path):
    status, _, tasks = Client(base).api("GET", "/api/tasks?limit=1000")
    check(status == 200 and tasks, f"GET /api/tasks?limit=1000: expected 200 and tasks, got {status} {tasks}")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(tasks, out)
    print(f"  recorded {len(tasks)} tasks")


def verify(base, path):
    client = Client(base)
    with open(path, encoding="utf-8") as src:
        tasks = json.load(src)
    page = client.page("/")
    for task in tasks:
        status, _, now = client.api("GET", f"/api/tasks/{task['id']}")
        check(status == 200 and now == task, f"task {task['title']!r}: expected it unchanged, got {status} {now}")
        check(shows(page, task["title"]), f"the UI's page does not show {task['title']!r}")
    print(f"  {len(tasks)} tasks still there, in the API and on the page")


def main(argv):
    commands = {"ui": check_ui, "api": check_api, "seed": seed, "snapshot": snapshot, "verify": verify}
    return run(commands, argv, __doc__, unreachable=(urllib.error.URLError, OSError))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
