import threading
import time
from copy import deepcopy

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from accounts.tests.factories import MerchantFactory
from catalog.cache import (
    LIST_VERSION_KEY,
    product_cache_invalidate_on_commit,
    product_detail_cached,
    product_list_page_cached,
    product_version_key,
    version_read,
)
from catalog.models import Product
from catalog.selectors import product_get_public
from catalog.serializers import ProductSerializer
from catalog.services import (
    product_release_units,
    product_restore,
    product_take_units,
    product_update,
)
from catalog.tests.factories import ProductFactory
from catalog.views import ProductViewSet

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products"


def detail(product_id) -> str:
    return f"{PRODUCTS}/{product_id}"


def warm(client, product) -> None:
    """Fill the cache with the list page and the product's detail."""
    assert client.get(PRODUCTS).status_code == 200
    assert client.get(detail(product.id)).status_code == 200


def listed(client) -> dict[str, dict]:
    return {item["id"]: item for item in client.get(PRODUCTS).json()["results"]}


# --- served from the cache ----------------------------------------------------


def test_the_cache_is_redis(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def test_second_detail_read_is_served_from_the_cache(api_client, product, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = api_client.get(detail(product.id))
    with django_assert_num_queries(0):
        second = api_client.get(detail(product.id))

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()


def test_second_list_read_is_served_from_the_cache(api_client, product, django_assert_num_queries):
    with django_assert_num_queries(2):  # count + page
        first = api_client.get(PRODUCTS)
    with django_assert_num_queries(0):
        second = api_client.get(PRODUCTS)

    assert first.json() == second.json()
    assert first.json()["count"] == 1


def test_each_filter_and_page_is_cached_separately(api_client, merchant, django_assert_num_queries):
    ProductFactory.create_batch(3, merchant=merchant)
    api_client.get(PRODUCTS, {"limit": 2})

    with django_assert_num_queries(2):
        second_page = api_client.get(PRODUCTS, {"limit": 2, "page": 2})
    with django_assert_num_queries(2):
        filtered = api_client.get(PRODUCTS, {"limit": 2, "ordering": "price"})
    with django_assert_num_queries(0):
        api_client.get(PRODUCTS, {"limit": 2, "page": 2})

    assert len(second_page.json()["results"]) == 1
    assert filtered.json()["count"] == 3


def test_links_are_built_for_each_request_not_cached(api_client, merchant):
    ProductFactory.create_batch(3, merchant=merchant)
    api_client.get(PRODUCTS, {"limit": 2})

    response = api_client.get(PRODUCTS, {"limit": 2, "utm": "x"}, HTTP_HOST="127.0.0.1")

    assert response.json()["next"].startswith("http://127.0.0.1/")
    assert "utm=x" in response.json()["next"]


def test_not_found_is_not_cached(api_client, merchant, django_assert_num_queries):
    product = ProductFactory(merchant=merchant, is_active=False)
    api_client.get(detail(product.id))

    with django_assert_num_queries(1):
        assert api_client.get(detail(product.id)).status_code == 404


def test_a_direct_database_write_is_not_seen_until_invalidated(api_client, product, django_capture_on_commit_callbacks):
    # Proves the reads really come from the cache: only invalidation makes a change visible.
    warm(api_client, product)
    Product.objects.filter(id=product.id).update(name="Changed behind the cache's back")

    assert api_client.get(detail(product.id)).json()["name"] == product.name
    with django_capture_on_commit_callbacks(execute=True):
        product_cache_invalidate_on_commit(product_id=product.id)
    assert api_client.get(detail(product.id)).json()["name"] == "Changed behind the cache's back"


# --- every change is visible on the next read ---------------------------------


def test_create_is_visible_on_the_next_list_read(api_client, auth_client, product, django_capture_on_commit_callbacks):
    warm(api_client, product)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(product.merchant).post(
            PRODUCTS, {"name": "Brand new", "price": "1.00", "availableUnits": 1}, format="json"
        )

    assert response.status_code == 201
    assert response.json()["id"] in listed(api_client)


def test_update_is_visible_on_the_next_read(api_client, auth_client, product, django_capture_on_commit_callbacks):
    warm(api_client, product)

    with django_capture_on_commit_callbacks(execute=True):
        auth_client(product.merchant).patch(
            detail(product.id), {"name": "Renamed", "price": "99.00", "availableUnits": 3}, format="json"
        )

    body = api_client.get(detail(product.id)).json()
    assert (body["name"], body["price"], body["availableUnits"]) == ("Renamed", "99.00", 3)
    item = listed(api_client)[str(product.id)]
    assert (item["name"], item["price"], item["availableUnits"]) == ("Renamed", "99.00", 3)


def test_deactivation_is_visible_on_the_next_read(api_client, auth_client, product, django_capture_on_commit_callbacks):
    warm(api_client, product)

    with django_capture_on_commit_callbacks(execute=True):
        auth_client(product.merchant).patch(detail(product.id), {"isActive": False}, format="json")

    assert api_client.get(detail(product.id)).status_code == 404
    assert str(product.id) not in listed(api_client)


def test_delete_is_visible_on_the_next_read(api_client, auth_client, product, django_capture_on_commit_callbacks):
    warm(api_client, product)

    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client(product.merchant).delete(detail(product.id)).status_code == 204

    assert api_client.get(detail(product.id)).status_code == 404
    assert str(product.id) not in listed(api_client)


def test_restore_is_visible_on_the_next_read(api_client, auth_client, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        auth_client(product.merchant).delete(detail(product.id))
    warm_list = api_client.get(PRODUCTS)
    assert warm_list.json()["count"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        product_restore(product_id=product.id)

    assert api_client.get(detail(product.id)).status_code == 200
    assert str(product.id) in listed(api_client)


def test_units_taken_are_visible_on_the_next_read(api_client, product, django_capture_on_commit_callbacks):
    warm(api_client, product)
    api_client.get(PRODUCTS, {"inStock": "true"})

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        product_take_units(product_id=product.id, quantity=10)

    assert api_client.get(detail(product.id)).json()["availableUnits"] == 0
    assert listed(api_client)[str(product.id)]["availableUnits"] == 0
    assert api_client.get(PRODUCTS, {"inStock": "true"}).json()["count"] == 0


def test_units_released_are_visible_on_the_next_read(api_client, product, django_capture_on_commit_callbacks):
    with transaction.atomic():
        product_take_units(product_id=product.id, quantity=4)
    warm(api_client, product)

    with django_capture_on_commit_callbacks(execute=True):
        product_release_units(product_id=product.id, quantity=4)

    assert api_client.get(detail(product.id)).json()["availableUnits"] == 10
    assert listed(api_client)[str(product.id)]["availableUnits"] == 10


def test_an_upper_case_id_in_the_url_is_invalidated_too(
    api_client, auth_client, product, django_capture_on_commit_callbacks
):
    upper = detail(str(product.id).upper())
    api_client.get(upper)

    with django_capture_on_commit_callbacks(execute=True):
        auth_client(product.merchant).patch(detail(product.id), {"name": "Renamed"}, format="json")

    assert api_client.get(upper).json()["name"] == "Renamed"


# --- invalidation happens after commit, and only then -------------------------


def test_invalidation_waits_for_the_commit(product, django_capture_on_commit_callbacks):
    stamp = version_read(product_version_key(product.id))
    list_stamp = version_read(LIST_VERSION_KEY)

    with django_capture_on_commit_callbacks() as callbacks:
        product_update(product_id=product.id, merchant=product.merchant, name="Pending")
        assert version_read(product_version_key(product.id)) == stamp
        assert version_read(LIST_VERSION_KEY) == list_stamp

    assert callbacks
    for callback in callbacks:
        callback()
    assert version_read(product_version_key(product.id)) != stamp
    assert version_read(LIST_VERSION_KEY) != list_stamp


def test_a_rolled_back_change_invalidates_nothing(product, django_capture_on_commit_callbacks):
    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(Abort), transaction.atomic():
        product_update(product_id=product.id, merchant=product.merchant, name="Never")
        raise Abort

    assert callbacks == []


# --- the stale re-cache race --------------------------------------------------


def test_a_reader_that_read_before_an_invalidation_cannot_recache_stale_detail(
    product, django_capture_on_commit_callbacks
):
    def slow_reader():
        stale = {"name": "stale"}  # what the database said before the writer committed
        with django_capture_on_commit_callbacks(execute=True):
            product_cache_invalidate_on_commit(product_id=product.id)  # the writer commits meanwhile
        return stale

    # The slow reader answers its own request with what it read…
    assert product_detail_cached(product_id=product.id, build=slow_reader) == {"name": "stale"}
    # …but wrote it under a retired stamp, so the next reader goes to the database.
    assert product_detail_cached(product_id=product.id, build=lambda: {"name": "fresh"}) == {"name": "fresh"}


def test_a_reader_that_read_before_an_invalidation_cannot_recache_a_stale_list(
    product, django_capture_on_commit_callbacks
):
    params = {"ordering": "-createdAt", "page": 1, "limit": 20}

    def slow_reader():
        stale = {"count": 0, "results": []}
        with django_capture_on_commit_callbacks(execute=True):
            product_cache_invalidate_on_commit(product_id=product.id)
        return stale

    product_list_page_cached(params=params, build=slow_reader)

    fresh = {"count": 1, "results": [{"id": str(product.id)}]}
    assert product_list_page_cached(params=params, build=lambda: fresh) == fresh


@pytest.mark.django_db(transaction=True)
def test_stale_recache_race_against_a_real_commit(api_client):
    """A reader reads the row, a writer commits and invalidates, then the reader caches what it read."""
    product = ProductFactory(name="Before")

    def writer():
        try:
            product_update(product_id=product.id, merchant=product.merchant, name="After")
        finally:
            connection.close()

    def reader_build():
        data = ProductSerializer(product_get_public(product_id=product.id)).data
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join()
        return data

    assert product_detail_cached(product_id=product.id, build=reader_build)["name"] == "Before"

    assert api_client.get(detail(product.id)).json()["name"] == "After"


def test_a_lost_version_stamp_is_recreated_with_a_new_value(product):
    stamp = version_read(product_version_key(product.id))
    cached = product_detail_cached(product_id=product.id, build=lambda: {"name": "old"})
    assert cached == {"name": "old"}

    cache.delete(product_version_key(product.id))  # evicted, or Redis restarted

    assert version_read(product_version_key(product.id)) != stamp
    assert product_detail_cached(product_id=product.id, build=lambda: {"name": "new"}) == {"name": "new"}


def test_invalidation_tolerates_missing_stamps(product, django_capture_on_commit_callbacks):
    cache.clear()

    with django_capture_on_commit_callbacks(execute=True):
        product_cache_invalidate_on_commit(product_id=product.id)

    assert version_read(product_version_key(product.id)) is not None


def test_concurrent_stamp_creation_agrees_on_one_stamp(product):
    key = product_version_key(product.id)
    cache.delete(key)

    first, second = version_read(key), version_read(key)

    assert first == second == cache.get(key)


# --- other cache backends and a dead Redis ------------------------------------


@pytest.fixture
def locmem_cache(settings):
    # The development configuration (no REDIS_URL); Django resets the cache handler on the change.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_with_the_in_process_cache_changes_are_visible_too(
    locmem_cache, api_client, auth_client, product, django_capture_on_commit_callbacks, django_assert_num_queries
):
    warm(api_client, product)
    with django_assert_num_queries(0):
        api_client.get(detail(product.id))

    with django_capture_on_commit_callbacks(execute=True):
        auth_client(product.merchant).patch(detail(product.id), {"name": "Renamed"}, format="json")

    assert api_client.get(detail(product.id)).json()["name"] == "Renamed"
    assert listed(api_client)[str(product.id)]["name"] == "Renamed"


@pytest.fixture
def dead_redis(settings):
    # A closed port: every cache call fails at once; IGNORE_EXCEPTIONS turns it into a miss.
    caches = deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = "redis://127.0.0.1:1/0"
    settings.CACHES = caches
    assert cache.get("anything") is None


def test_endpoints_answer_with_redis_down(
    dead_redis, api_client, auth_client, merchant, django_capture_on_commit_callbacks
):
    client = auth_client(merchant)
    started = time.monotonic()

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(PRODUCTS, {"name": "Offline", "price": "2.00", "availableUnits": 2}, format="json")
    assert created.status_code == 201
    product_id = created.json()["id"]

    assert api_client.get(PRODUCTS).json()["count"] == 1
    assert api_client.get(PRODUCTS, {"search": "off", "ordering": "price"}).status_code == 200
    assert api_client.get(detail(product_id)).json()["name"] == "Offline"

    with django_capture_on_commit_callbacks(execute=True):
        assert client.patch(detail(product_id), {"name": "Still offline"}, format="json").status_code == 200
    assert api_client.get(detail(product_id)).json()["name"] == "Still offline"
    assert api_client.get(PRODUCTS).json()["results"][0]["name"] == "Still offline"

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        product_take_units(product_id=product_id, quantity=2)
    assert api_client.get(detail(product_id)).json()["availableUnits"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        product_release_units(product_id=product_id, quantity=1)
    assert api_client.get(detail(product_id)).json()["availableUnits"] == 1

    assert client.get("/api/v1/products/merchant/my-products").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(detail(product_id)).status_code == 204
    assert api_client.get(detail(product_id)).status_code == 404

    # Uncached, but no stalls: the whole sequence takes far less than one socket timeout per call would.
    assert time.monotonic() - started < 3


def test_reads_with_redis_down_hit_the_database_every_time(dead_redis, api_client, django_assert_num_queries):
    product = ProductFactory(merchant=MerchantFactory())

    for _ in range(2):
        with django_assert_num_queries(1):
            assert api_client.get(detail(product.id)).status_code == 200


# --- hits answered before DRF's dispatch (catalog.views.cached_public_reads) --


def _comparable(response) -> tuple:
    headers = {name: value for name, value in response.headers.items() if name != "X-Request-ID"}
    return response.status_code, headers, response.content


@pytest.mark.parametrize("path", ["detail", "list", "list with a query"])
def test_a_hit_answers_what_the_view_answers_without_drfs_dispatch(api_client, product, monkeypatch, path):
    url = {"detail": detail(product.id), "list": PRODUCTS, "list with a query": f"{PRODUCTS}?ordering=price"}[path]
    built = api_client.get(url)  # a miss: DRF's view renders and caches it
    assert built.status_code == 200

    def dispatch_refused(*args, **kwargs):
        raise AssertionError("a hit went through DRF's dispatch")

    monkeypatch.setattr(ProductViewSet, "initial", dispatch_refused)
    served = api_client.get(url, HTTP_ACCEPT="application/json")
    assert _comparable(served) == _comparable(built)
    assert _comparable(api_client.get(url, HTTP_ACCEPT="*/*")) == _comparable(built)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"HTTP_AUTHORIZATION": "Bearer not-a-token"}, 401),
        ({"HTTP_ACCEPT": "text/html"}, 406),
        ({"HTTP_ACCEPT": "application/xml"}, 406),
    ],
)
def test_what_drf_would_decide_goes_to_drf_even_on_a_hit(api_client, product, headers, status):
    warm(api_client, product)

    response = api_client.get(detail(product.id), **headers)

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


def test_the_detail_with_drfs_format_parameter_goes_to_drf(api_client, product):
    warm(api_client, product)

    assert api_client.get(f"{detail(product.id)}?format=json").status_code == 200
    assert api_client.get(f"{detail(product.id)}?format=xml").status_code == 404
    # Any other query is ignored by the detail, as by the view.
    assert api_client.get(f"{detail(product.id)}?utm=x").content == api_client.get(detail(product.id)).content


def test_other_methods_and_misses_reach_the_view(api_client, auth_client, product, django_capture_on_commit_callbacks):
    warm(api_client, product)
    with django_capture_on_commit_callbacks(execute=True):
        changed = auth_client(product.merchant).patch(detail(product.id), {"name": "Changed"}, format="json")
    assert changed.status_code == 200
    # The change retired the entry: the next read is a miss, rendered by the view, then a hit.
    assert api_client.get(detail(product.id)).json()["name"] == "Changed"
    assert api_client.get(detail(product.id)).json()["name"] == "Changed"
