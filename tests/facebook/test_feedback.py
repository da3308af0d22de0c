"""Automatic messages and the feedback survey, through the sender to the fake Graph API
over real HTTP, and the customer's answer back through the signed webhook."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from facebook import sender
from facebook.fake import webhooks
from facebook.models import WebhookDelivery, WebhookVerdict
from routing import services
from routing.models import Holiday, Interaction, Message, MessageStatus
from tests.facebook.conftest import PAGE_TOKEN
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)

PSID = "7300000000000042"
PRIVACY_URL = "https://acme.example/privacy"


def ended_conversation(**workgroup_fields) -> Interaction:
    workgroup = make_workgroup(**workgroup_fields)
    agent = make_agent(workgroups=[workgroup])
    make_page(workgroup, access_token=PAGE_TOKEN, personas_enabled=True)
    chat = customer_writes(workgroup, psid=PSID).interaction
    services.pickup(interaction_id=chat.pk, agent=agent)
    with transaction.atomic():
        services.disconnect(interaction_id=chat.pk, agent=agent)
    assert sender.wait_for_idle(timeout=15)
    return refresh(chat)


def test_the_survey_goes_out_as_metas_feedback_template_never_tagged(fake_graph_api, settings):
    settings.FACEBOOK_PRIVACY_URL = PRIVACY_URL
    chat = ended_conversation(feedback_survey=True)

    survey = Message.objects.get(interaction=chat, automatic=True)
    assert survey.status == MessageStatus.SENT
    [call] = fake_graph_api.message_calls()
    assert call.answer_status == 200
    body = call.body
    assert (body["messaging_type"], "tag" in body, "persona_id" in body) == (
        "RESPONSE",
        False,
        False,
    )
    template = body["message"]["attachment"]
    assert template["type"] == "template"
    payload = template["payload"]
    assert payload["template_type"] == "customer_feedback"
    assert payload["business_privacy"] == {"url": PRIVACY_URL}
    [screen] = payload["feedback_screens"]
    [question] = screen["questions"]
    assert question == {
        "id": "csat",
        "type": "csat",
        "title": survey.text,
        "score_label": "neg_pos",
        "score_option": "five_stars",
        "follow_up": {"type": "free_form", "placeholder": "Anything to add? (optional)"},
    }
    assert body["message"]["metadata"] == str(survey.client_id)


def test_without_a_privacy_url_the_survey_fails_with_words(fake_graph_api, settings):
    settings.FACEBOOK_PRIVACY_URL = ""
    chat = ended_conversation(feedback_survey=True)
    survey = Message.objects.get(interaction=chat, automatic=True)
    assert survey.status == MessageStatus.FAILED
    assert "set FACEBOOK_PRIVACY_URL" in survey.error_message
    assert fake_graph_api.message_calls() == []


def test_the_out_of_hours_reply_is_sent_as_response_from_the_page(fake_graph_api):
    workgroup = make_workgroup(out_of_hours_message="We are closed until {opens}.")
    today = timezone.now().date()
    for offset in (-1, 0, 1):
        Holiday.objects.create(workgroup=workgroup, date=today + timedelta(days=offset))
    make_page(workgroup, access_token=PAGE_TOKEN, personas_enabled=True)
    with transaction.atomic():
        chat = customer_writes(workgroup, psid=PSID).interaction
    assert sender.wait_for_idle(timeout=15)
    reply = Message.objects.get(interaction=chat, automatic=True)
    assert reply.status == MessageStatus.SENT
    [call] = fake_graph_api.message_calls()
    assert call.body["messaging_type"] == "RESPONSE"
    assert "tag" not in call.body and "persona_id" not in call.body
    assert call.body["message"]["text"] == reply.text


def post_signed(client, body: dict, settings):
    signed = webhooks.sign(body, secret=settings.FACEBOOK_APP_SECRET)
    return client.post(
        "/facebook/webhook",
        data=signed.raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signed.signature,
    )


def feedback_body(page_id: str, score: int, comment: str = "") -> dict:
    return webhooks.envelope(
        webhooks.messaging_feedback(
            page_id=page_id, psid=PSID, question_id="csat", score=score, comment=comment
        ),
        page_id=page_id,
    )


def test_the_customers_answer_comes_back_as_a_webhook_and_is_stored(
    fake_graph_api, client, settings
):
    settings.FACEBOOK_PRIVACY_URL = PRIVACY_URL
    chat = ended_conversation(feedback_survey=True)
    page_id = chat.customer.page_id

    response = post_signed(client, feedback_body(page_id, 2, "Took too long"), settings)

    assert response.status_code == 200
    chat = refresh(chat)
    assert (chat.csat_score, chat.csat_comment) == (2, "Took too long")
    # Its own body: the fake's echo of the survey may have been stored after it.
    answer = WebhookDelivery.objects.get(body__contains='"messaging_feedback"')
    assert answer.verdict == WebhookVerdict.PROCESSED


def test_an_answer_nobody_asked_for_is_stored_raw_and_changes_nothing(client, settings):
    workgroup = make_workgroup()
    page = make_page(workgroup, access_token=PAGE_TOKEN)
    chat = customer_writes(workgroup, psid=PSID).interaction

    response = post_signed(client, feedback_body(page.page_id, 5), settings)

    assert response.status_code == 200
    assert refresh(chat).csat_score is None
    delivery = WebhookDelivery.objects.order_by("-id").first()
    assert "no survey of this customer waits" in delivery.detail
    assert json.loads(delivery.body)["entry"][0]["messaging"][0]["messaging_feedback"]
