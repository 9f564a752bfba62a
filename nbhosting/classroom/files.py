"""A student's files of a course, as one zip, made as the student's uid (workspace.zip_stream)."""
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from nbhosting.classroom.access import Visit, classroom_view
from nbhosting.workspaces import workspace


@classroom_view
@require_GET
def download(request: HttpRequest, visit: Visit) -> HttpResponse:
    try:
        stream = workspace.zip_stream(visit.course, visit.student)
    except workspace.WorkspaceError:
        return HttpResponse("Your workspace is not available just now.", status=503, content_type="text/plain")
    response = StreamingHttpResponse(stream, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{visit.course.name}-{visit.student.name}.zip"'
    response["Cache-Control"] = "no-store"
    return response
