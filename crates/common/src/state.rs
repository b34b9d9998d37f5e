//! The state each service's routers share: the service's own use cases plus what every HTTP
//! service has (the authenticator, its health check, idempotency where its routes use it).
//! One reference count per clone: axum clones the state for every request.

use std::{ops::Deref, sync::Arc};

use axum::extract::FromRef;

use crate::{
    auth::Authenticator,
    services::{
        cart::CartService, health::HealthService, idempotency::IdempotencyService,
        orders::OrderService, products::ProductService, uploads::UploadService, users::UserService,
    },
};

/// What every HTTP service shares, around its own use cases `S`.
pub struct Shared<S> {
    pub auth: Arc<Authenticator>,
    pub health: Arc<HealthService>,
    /// Present when the service has `Idempotency-Key` routes.
    pub idempotency: Option<Arc<IdempotencyService>>,
    pub body_limit: usize,
    pub service: S,
}

impl<S> Deref for Shared<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.service
    }
}

/// The state of one service's routers.
pub struct ServiceState<S>(Arc<Shared<S>>);

impl<S> ServiceState<S> {
    pub fn new(shared: Shared<S>) -> Self {
        Self(Arc::new(shared))
    }
}

impl<S> Clone for ServiceState<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S> Deref for ServiceState<S> {
    type Target = Shared<S>;

    fn deref(&self) -> &Shared<S> {
        &self.0
    }
}

impl<S> FromRef<ServiceState<S>> for Arc<Authenticator> {
    fn from_ref(state: &ServiceState<S>) -> Self {
        state.auth.clone()
    }
}

/// `api_users_lambda`: accounts, sign-in, avatars.
pub struct Users {
    pub users: Arc<UserService>,
    pub uploads: Arc<UploadService>,
}

/// `api_products_lambda`: the catalogue and its images.
pub struct Products {
    pub products: Arc<ProductService>,
    pub uploads: Arc<UploadService>,
}

/// `api_cart_lambda`.
pub struct Cart {
    pub cart: Arc<CartService>,
}

/// `api_orders_lambda`.
pub struct Orders {
    pub orders: Arc<OrderService>,
}

pub type UsersState = ServiceState<Users>;
pub type ProductsState = ServiceState<Products>;
pub type CartState = ServiceState<Cart>;
pub type OrdersState = ServiceState<Orders>;
