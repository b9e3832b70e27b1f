"""Creates the interop clients (secrets from the environment): one for
client credentials over Basic, one over the body (the toolkit takes both for
any confidential client), and a password-grant client with its user."""
import os

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

Application.objects.all().delete()
for client_id, secret, grant in [
    ("basic-client", os.environ["BASIC_SECRET"], Application.GRANT_CLIENT_CREDENTIALS),
    ("post-client", os.environ["POST_SECRET"], Application.GRANT_CLIENT_CREDENTIALS),
    ("password-client", os.environ["POST_SECRET"], Application.GRANT_PASSWORD),
]:
    Application.objects.create(
        name=client_id,
        client_id=client_id,
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant,
        algorithm=Application.RS256_ALGORITHM,
    )
User = get_user_model()
User.objects.filter(username="interop-user").delete()
User.objects.create_user("interop-user", password=os.environ["POST_SECRET"])
print("provisioned")
