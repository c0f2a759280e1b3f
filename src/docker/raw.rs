//! Requests bollard's models cannot carry: answers with fields they lack
//! (a task's network attachments) and service specs sent back exactly as
//! Docker gave them (a spec decoded into bollard's structs and encoded
//! again would lose any field they do not know).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::de::DeserializeOwned;

use super::{Client, DockerError};

impl Client {
    /// `GET path`, its JSON answer decoded: one request, bounded by the
    /// client's timeout, its failures told as bollard's are.
    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<T, DockerError> {
        let body = self.send(hyper::Method::GET, path, None, what).await?;
        serde_json::from_slice(&body).map_err(|e| self.fail(what, &e.into()))
    }

    /// `POST path` with a JSON body; the answer's JSON.
    pub(super) async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        what: &str,
    ) -> Result<serde_json::Value, DockerError> {
        let body = serde_json::to_vec(body).map_err(|e| self.fail(what, &e.into()))?;
        let answer = self
            .send(hyper::Method::POST, path, Some(body), what)
            .await?;
        if answer.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&answer).map_err(|e| self.fail(what, &e.into()))
    }

    /// `method path` with a JSON body, bounded by the client's timeout;
    /// a refusal stays bollard's error, for `answer` to read.
    pub(super) async fn exchange_json(
        &self,
        method: hyper::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Bytes, bollard::errors::Error> {
        let body = serde_json::to_vec(body)?;
        match tokio::time::timeout(self.timeout, self.exchange(method, path, Some(body))).await {
            Err(_) => Err(bollard::errors::Error::RequestTimeoutError),
            Ok(answer) => answer,
        }
    }

    async fn send(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
        what: &str,
    ) -> Result<Bytes, DockerError> {
        match tokio::time::timeout(self.timeout, self.exchange(method, path, body)).await {
            Err(_) => Err(self.fail(what, &bollard::errors::Error::RequestTimeoutError)),
            Ok(Err(e)) => Err(self.fail(what, &e)),
            Ok(Ok(body)) => Ok(body),
        }
    }

    async fn exchange(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, bollard::errors::Error> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(hyperlocal::Uri::new(&self.socket, path));
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let response = self.raw.request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| Some(v.get("message")?.as_str()?.to_string()))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: status.as_u16(),
            message,
        })
    }
}
