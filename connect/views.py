from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


@login_required
def desktop(request):
    return HttpResponse("desktop")
