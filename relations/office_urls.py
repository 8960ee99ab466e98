"""Relations' pages under Kantoor (`/office/`): the team roles and the hand-over of a member's places."""

from django.urls import path

from relations.views import roles

urlpatterns = [
    path("team-roles/", roles.team_roles, name="team-roles"),
    path("team-roles/<int:pk>/rename/", roles.team_role_rename, name="team-role-rename"),
    path("team-roles/<int:pk>/move/", roles.team_role_move, name="team-role-move"),
    path("team-roles/<int:pk>/active/", roles.team_role_active, name="team-role-active"),
    path("team-roles/<int:pk>/delete/", roles.team_role_delete, name="team-role-delete"),
    path("members/<int:pk>/hand-over/", roles.hand_over, name="team-hand-over"),
]
