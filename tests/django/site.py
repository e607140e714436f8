"""A real Django site with Hue's login, for duet's end-to-end test (tests/tests/django.rs).

Django's own auth views, session and CSRF middleware, on Django's threaded development
server bound to 127.0.0.1 on a port the system picks. Prints `LISTENING <port>` once it
serves, and exits when its standard input closes (when the test process ends).

The paths are Hue's, as tests/src/hue.rs has them:

- /hue/accounts/login/   Django's LoginView: the CSRF token in the form and the `csrftoken`
  cookie; on success a `sessionid` cookie and a redirect to `next`
- /hue/accounts/logout/  Django's LogoutView (POST)
- /metastore/databases/default/metadata  JSON, for a logged-in user only (else a redirect
  to the login page)
- /desktop/api2/user_preferences  JSON for a logged-in user; a POST (CSRF-checked) has the
  form's `note` echoed

User `hue`, password `secret`. Test use only: a fixed secret key and a fast password hash.
"""

import os
import shutil
import sys
import tempfile
import threading

import django
from django.conf import settings

LOGIN_TEMPLATE = """<!doctype html>
<title>Sign in to Hue</title>
{% if form.errors %}<p class="error">{{ form.non_field_errors|join:" " }}</p>{% endif %}
<form method="post" action="/hue/accounts/login/">
  {% csrf_token %}
  <input name="username"> <input name="password" type="password">
  <input type="hidden" name="next" value="{{ next }}">
</form>
"""

DATA = tempfile.mkdtemp(prefix="duet-django-")

settings.configure(
    DEBUG=False,
    SECRET_KEY="duet-tests-only-" + "k" * 50,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(DATA, "db.sqlite3"),
        }
    },
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    ("django.template.loaders.locmem.Loader", {"login.html": LOGIN_TEMPLATE})
                ],
            },
        }
    ],
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    LOGIN_URL="/hue/accounts/login/",
    LOGOUT_REDIRECT_URL="/hue/accounts/login/",
    USE_TZ=True,
    LOGGING_CONFIG=None,
)
django.setup()

from django.contrib.auth.decorators import login_required  # noqa: E402
from django.contrib.auth.views import LoginView, LogoutView  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


@login_required
def metadata(request):
    return JsonResponse({"database": "default", "owner": request.user.username})


@login_required
def preferences(request):
    return JsonResponse({"user": request.user.username, "note": request.POST.get("note")})


urlpatterns = [
    path("hue/accounts/login/", LoginView.as_view(template_name="login.html")),
    path("hue/accounts/logout/", LogoutView.as_view()),
    path("metastore/databases/default/metadata", metadata),
    path("desktop/api2/user_preferences", preferences),
]


def main():
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    User.objects.create_user("hue", password="secret")

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"LISTENING {server.server_address[1]}", flush=True)
    sys.stdin.read()  # until the test process ends
    shutil.rmtree(DATA, ignore_errors=True)
    os._exit(0)


if __name__ == "__main__":
    main()
