"""Page access tokens are encrypted at rest: the rows stored before are encrypted here."""

from django.db import migrations

import facebook.token_crypto


def encrypt_stored_tokens(apps, schema_editor):
    # Raw SQL: the model's field would try to decrypt what is still plain text.
    connection = schema_editor.connection
    table = connection.ops.quote_name("facebook_facebookpage")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, access_token FROM {table}")
        rows = cursor.fetchall()
        for pk, token in rows:
            if token and not facebook.token_crypto.is_encrypted(token):
                cursor.execute(
                    f"UPDATE {table} SET access_token = %s WHERE id = %s",
                    [facebook.token_crypto.encrypt(token), pk],
                )


def decrypt_stored_tokens(apps, schema_editor):
    connection = schema_editor.connection
    table = connection.ops.quote_name("facebook_facebookpage")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, access_token FROM {table}")
        for pk, token in cursor.fetchall():
            if token and facebook.token_crypto.is_encrypted(token):
                cursor.execute(
                    f"UPDATE {table} SET access_token = %s WHERE id = %s",
                    [facebook.token_crypto.decrypt(token), pk],
                )


class Migration(migrations.Migration):
    dependencies = [("facebook", "0003_webhook_routing_off_the_request")]

    operations = [
        migrations.RunPython(encrypt_stored_tokens, decrypt_stored_tokens),
        migrations.AlterField(
            model_name="facebookpage",
            name="access_token",
            field=facebook.token_crypto.EncryptedTokenField(
                help_text="The Page access token; never shown back in full."
            ),
        ),
    ]
