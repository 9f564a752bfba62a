"""Reads or updates a course's nbgrader gradebook. Runs inside a one-shot container of the course's
image, as the instructors' uid, with nbgrader's own API; never on the host, never as root.

Its request is JSON in /run/nbh-job/request.json:
  {"action": "add_students", "db": url, "course": id, "students": [{"id", "first_name", "last_name",
   "email"}], "overwrite": bool}          -> {"added": n, "updated": n}
  {"action": "grades", "db": url, "course": id}
      -> {"rows": [{"student", "first_name", "last_name", "email", "assignment", "score", "max_score"}]}
and it prints its answer as one line of JSON.
"""
import json

from nbgrader.api import Gradebook, MissingEntry

FIELDS = ("first_name", "last_name", "email")


def add_students(gb: Gradebook, students: list, overwrite: bool) -> dict:
    added = updated = 0
    for entry in students:
        fields = {k: entry[k] for k in FIELDS if entry.get(k)}
        try:
            gb.find_student(entry["id"])
        except MissingEntry:
            gb.add_student(entry["id"], **fields)
            added += 1
            continue
        if overwrite and fields:
            gb.update_or_create_student(entry["id"], **fields)
            updated += 1
    return {"added": added, "updated": updated}


def grades(gb: Gradebook) -> dict:
    rows = []
    for assignment in gb.assignments:
        for student in gb.students:
            try:
                submission = gb.find_submission(assignment.name, student.id)
            except MissingEntry:
                score = None
            else:
                score = submission.score
            rows.append({
                "student": student.id, "first_name": student.first_name or "",
                "last_name": student.last_name or "", "email": student.email or "",
                "assignment": assignment.name, "score": score, "max_score": assignment.max_score,
            })
    return {"rows": rows}


def main() -> None:
    with open("/run/nbh-job/request.json") as source:
        request = json.load(source)
    with Gradebook(request["db"], request["course"]) as gb:
        if request["action"] == "add_students":
            answer = add_students(gb, request["students"], request.get("overwrite", False))
        else:
            answer = grades(gb)
    print(json.dumps(answer))


main()
