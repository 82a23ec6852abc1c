from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import services
from accounts.selectors import user_get
from accounts.serializers import (
    AuthResponseSerializer,
    LoginSerializer,
    RefreshTokenSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from core.schema import problem_responses
from core.throttles import AuthRateThrottle
from core.views import OptionsWithoutCredentials


def _auth_response(user, *, status_code: int) -> Response:
    tokens = services.token_pair_for(user=user)
    body = {"user": UserSerializer(user).data, "access_token": tokens.access, "refresh_token": tokens.refresh}
    return Response(body, status=status_code)


class AuthViewSet(OptionsWithoutCredentials, viewsets.ViewSet):
    """Register, log in, rotate and revoke tokens, read the current user."""

    permission_classes = [AllowAny]
    # register, login, refresh and logout carry their credentials in the body and
    # read no bearer token (a client still sending its expired access token must
    # be able to refresh); only `me` authenticates with one.

    def get_permissions(self):
        if self.action == "me":
            return [IsAuthenticated()]
        return super().get_permissions()

    def get_throttles(self):
        if self.action in ("register", "login"):
            return [AuthRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="auth_register",
        request=RegisterSerializer,
        responses={201: AuthResponseSerializer},
        auth=[],
        description="Create a USER or MERCHANT account and its wallet; returns a token pair.",
    )
    @problem_responses(409)
    @action(detail=False, methods=["post"], authentication_classes=[])
    def register(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return _auth_response(user, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="auth_login",
        request=LoginSerializer,
        responses={200: AuthResponseSerializer},
        auth=[],
        description="Exchange email and password for a token pair. Unknown email and wrong password answer alike.",
    )
    @problem_responses(401)
    @action(detail=False, methods=["post"], authentication_classes=[])
    def login(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_authenticate(**serializer.validated_data)
        return _auth_response(user, status_code=status.HTTP_200_OK)

    @extend_schema(
        operation_id="auth_refresh",
        request=RefreshTokenSerializer,
        responses={200: TokenPairSerializer},
        auth=[],
        description="Rotate a refresh token: the one sent is blacklisted, a new pair is returned.",
    )
    @problem_responses(401)
    @action(detail=False, methods=["post"], authentication_classes=[])
    def refresh(self, request):
        serializer = RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.auth_refresh(refresh_token=serializer.validated_data["refresh_token"])
        return Response({"access_token": tokens.access, "refresh_token": tokens.refresh})

    @extend_schema(
        operation_id="auth_logout",
        request=RefreshTokenSerializer,
        responses={204: None},
        auth=[],
        description="Blacklist a refresh token. Access tokens expire on their own (15 minutes).",
    )
    @problem_responses(401)
    @action(detail=False, methods=["post"], authentication_classes=[])
    def logout(self, request):
        serializer = RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.auth_logout(refresh_token=serializer.validated_data["refresh_token"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="auth_me", responses={200: UserSerializer})
    @action(detail=False, methods=["get"])
    def me(self, request):
        # request.user holds only the token's claims: the profile is read from its row.
        return Response(UserSerializer(user_get(user_id=request.user.id)).data)
