from django.urls import path

from work import views

# Included at the root (config/urls.py): /tasks/ for everyone's work, /work/ for the office's recipes.
urlpatterns = [
    path("tasks/", views.my_tasks, name="work-tasks"),
    path("tasks/complete/", views.tasks_complete, name="work-tasks-complete"),
    path("tasks/digest/", views.digest_choice, name="work-digest"),
    path("tasks/<int:pk>/claim/", views.task_claim, name="work-task-claim"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="work-task-complete"),
    path("tasks/<int:pk>/skip/", views.task_skip, name="work-task-skip"),
    path("done-tasks/<int:pk>/reopen/", views.task_reopen, name="work-task-reopen"),
    path("relations/<uuid:public_id>/work/start/", views.process_start, name="work-start"),
    path("relations/<uuid:public_id>/work/extension/", views.extension, name="work-extension"),
    path("work/planner/", views.planner, name="work-planner"),
    path("work/planner/start/", views.planner_start, name="work-planner-start"),
    path("work/templates/", views.template_list, name="work-templates"),
    path("work/templates/new/", views.template_new, name="work-template-new"),
    path("work/templates/<int:pk>/", views.template_edit, name="work-template"),
    path("work/templates/<int:pk>/archive/", views.template_archive, name="work-template-archive"),
    path("work/templates/<int:pk>/steps/new/", views.step_new, name="work-step-new"),
    path("work/steps/<int:pk>/", views.step_edit, name="work-step"),
]
