from django.urls import path

from collab import portal_views, views

# Included under "relations/" (config/urls.py), beside the relation's own pages.
urlpatterns = [
    path("<uuid:public_id>/chat/new/", views.new_thread, name="chat-new"),
    path("<uuid:public_id>/chat/<int:pk>/", views.thread, name="chat-thread"),
    path("<uuid:public_id>/chat/<int:pk>/post/", views.post, name="chat-post"),
    path("<uuid:public_id>/chat/<int:pk>/read/", views.read, name="chat-read"),
    path(
        "<uuid:public_id>/chat/messages/<int:pk>/withdraw/",
        views.withdraw,
        name="chat-withdraw",
    ),
]

# Included under "portal/".
portal_urlpatterns = [
    path("chat/", portal_views.chat, name="portal-chat"),
    path("chat/new/", portal_views.new_thread, name="portal-chat-new"),
    path("chat/<int:pk>/", portal_views.thread, name="portal-chat-thread"),
    path("chat/<int:pk>/post/", portal_views.post, name="portal-chat-post"),
    path("chat/<int:pk>/read/", portal_views.read, name="portal-chat-read"),
]

# Included at the root: the office's inbox.
inbox_urlpatterns = [path("inbox/", views.inbox, name="inbox")]
