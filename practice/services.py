from django.contrib.auth.models import User
from django.db import transaction

from practice.models import Membership, Practice


@transaction.atomic
def create_practice(
    *, slug: str, name: str, owner_username: str, owner_password: str | None
) -> tuple[Practice, User, bool]:
    """A practice with its first owner; the owner account is created when it does not exist yet.

    Returns the practice, the owner and whether the owner account was created.
    """
    practice = Practice.objects.create(slug=slug, name=name)
    owner = User.objects.filter(username=owner_username).first()
    created = owner is None
    if owner is None:
        if not owner_password:
            raise ValueError("A password is needed to create a new owner account.")
        owner = User.objects.create_user(username=owner_username, password=owner_password)
    Membership.objects.create(user=owner, practice=practice, role=Membership.Role.OWNER)
    return practice, owner, created
