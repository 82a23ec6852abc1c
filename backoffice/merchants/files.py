"""Merchants' page for the file of a FILE product: what buyers download, and the form that replaces it.

The upload goes through `delivery.services.files.product_file_replace`, as the
API's does, and is received by the same streaming handler
(`delivery.uploads`): to a temporary file, hashed on the way, stopped at
DELIVERY_MAX_FILE_BYTES. The handler must be in place before anything reads
the body, so the view is exempt from the admin's CSRF check until it has set
it, and then runs the check itself.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from backoffice.delivery import delivery_form_page
from catalog.exceptions import NotProductOwner, ProductNotFound
from core.errors import ApplicationError
from delivery.models import ProductFile
from delivery.selectors import product_get_for_file
from delivery.services.files import product_file_replace
from delivery.uploads import FILE_FIELD, product_file_upload_handler


class ProductFileForm(forms.Form):
    file = forms.FileField(allow_empty_file=False, help_text="Replaces the current file for every buyer.")


class ProductFilePages:
    """Add `<product id>/file/` to the merchants' products admin: the product's file and its upload form."""

    def get_urls(self):
        page = path("<path:object_id>/file/", self.admin_site.admin_view(self.file_view), name="catalog_product_file")
        return [page, *super().get_urls()]

    @method_decorator(csrf_exempt)
    def file_view(self, request, object_id):
        handler = product_file_upload_handler(request)
        return csrf_protect(self._file_page)(request, object_id, handler)

    def _file_page(self, request, object_id, handler):
        try:
            product = product_get_for_file(product_id=object_id, merchant=request.user)
        except (ProductNotFound, ValueError) as exc:
            raise Http404("No FILE product with this id is yours.") from exc
        except NotProductOwner as exc:
            raise PermissionDenied(exc.detail) from exc
        except ApplicationError as exc:  # not a FILE product
            raise Http404(exc.detail) from exc
        form = ProductFileForm()
        if request.method == "POST":
            form = ProductFileForm(request.POST, request.FILES)
            try:
                upload = handler.received_file(request.FILES)
            except ApplicationError as exc:
                form.add_error(FILE_FIELD, exc.detail)
            else:
                if form.is_valid():
                    product_file_replace(product_id=product.id, merchant=request.user, upload=upload)
                    self.message_user(request, f"{product.name}: the file is now {upload.name}.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("merchant:catalog_product_file", args=[product.pk]))
        current = ProductFile.objects.filter(product=product).first()
        details = [("Product", product.name)]
        if current is None:
            details.append(("File", "none yet: buyers cannot order this product until it has one"))
        else:
            details += [
                ("File", current.file_name),
                ("Size", filesizeformat(current.size)),
                ("SHA-256", current.sha256),
                ("Uploaded", current.uploaded_at.strftime("%Y-%m-%d %H:%M UTC")),
            ]
        return delivery_form_page(
            self,
            request,
            form=form,
            title=f"File of {product.name}",
            details=details,
            submit_label="Upload file",
            cancel_url=reverse("merchant:catalog_product_change", args=[product.pk]),
        )
