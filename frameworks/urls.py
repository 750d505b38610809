from django.urls import path

from frameworks import views

app_name = "frameworks"

urlpatterns = [
    path("", views.framework_list, name="list"),
    path("<slug:target>/sync/", views.target_sync, name="target-sync"),
    path("<slug:target>/<str:name>/", views.framework_detail, name="detail"),
]
