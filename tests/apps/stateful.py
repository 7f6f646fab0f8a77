"""The shop app with the extensions that keep state in the process between tests."""

from flask import current_app, jsonify
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_mailman import EmailMessage, Mail
from shop import create_app as create_shop

limiter = Limiter(get_remote_address, storage_uri="memory://")
cache = Cache()
login_manager = LoginManager()
mail = Mail()


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


@login_manager.user_loader
def load_user(user_id):
    return User(user_id)


def create_app(config_name=None):
    app = create_shop(config_name)
    app.config.update(
        CACHE_TYPE="SimpleCache",
        MAIL_BACKEND="locmem",
        SECRET_KEY="not secret",
        FEATURES={"beta": False, "regions": ["eu"]},
    )
    limiter.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    mail.init_app(app)

    @app.get("/once")
    @limiter.limit("1 per minute")
    def once():
        return jsonify(ok=True)

    @app.post("/login/<name>")
    def log_in(name):
        login_user(User(name))
        return jsonify(user=current_user.id)

    @app.get("/whoami")
    def whoami():
        return jsonify(user=None if current_user.is_anonymous else current_user.id)

    @app.post("/mail")
    def send_mail():
        EmailMessage("hello", "body", "shop@example.com", ["user@example.com"]).send()
        return jsonify(sent=len(current_app.extensions["mailman"].outbox))

    @app.get("/features")
    def features():
        return jsonify(app.config["FEATURES"])

    return app
