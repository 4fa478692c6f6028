"""The answer to `OPTIONS` on an API endpoint: its name, description, media types and, for
the writes the caller may make, the fields of the body it takes."""

from rest_framework import exceptions
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import clone_request


class ApiMetadata(SimpleMetadata):
    """DRF's metadata without looking up an object: many views here are not generic
    (sections, items, actions) and name their object by other URL arguments, so the body
    described is the view's input serializer (`input_class`), else its serializer, given
    the context the view gives it."""

    def determine_actions(self, request, view) -> dict:
        actions = {}
        for method in {"PUT", "POST"} & set(view.allowed_methods):
            view.request = clone_request(request, method)
            try:
                view.check_permissions(view.request)
            except (exceptions.APIException, PermissionError):
                continue
            finally:
                view.request = request
            serializer_class = getattr(view, "input_class", None)
            if serializer_class is None and hasattr(view, "get_serializer_class"):
                serializer_class = view.get_serializer_class()
            if serializer_class is None:
                continue
            context = {"request": request, "view": view}
            if hasattr(view, "get_serializer_context"):
                context.update(view.get_serializer_context())
            if hasattr(view, "get_cycle"):  # the input serializers of a project's sections
                context["cycle"] = view.get_cycle()
            serializer = serializer_class(context=context)
            actions[method] = self.get_serializer_info(serializer)
        return actions
