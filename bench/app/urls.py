"""Mounted under the API prefix (`/api/v1/bench/`) by paymentflow/urls.py when BENCH is on."""

from django.urls import path

from bench.app import views

urlpatterns = [
    path("ok", views.ok, name="bench-ok"),
]
