import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.models import User
from pharmacy.services import accounts


class ApiClient:
    def __init__(self, client, token):
        self.client, self.token = client, token

    def post(self, url, json=None, data=None, **kw):
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        if data is not None:
            return self.client.post(
                url, data=data, headers=headers, content_type="application/json", csrf=False
            )
        return self.client.post(url, json=json, headers=headers)

    def patch(self, url, json=None, **kw):
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.client.patch(url, json=json, headers=headers)

    def get(self, url, **kw):
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.client.get(url, headers=headers, **kw)


@pytest.fixture
def api(app, pharmacy):
    def _for(role: str) -> ApiClient:
        with app.app_context(), unit_of_work() as s:
            user = s.scalar(select(User).where(User.username == role))
            token = accounts.create_api_token(s, user, user, "tests")
        return ApiClient(app.test_client(), token)

    return _for
