//! Requests sent as plain HTTP on kept-alive connections, past bollard's
//! models: every read a plan makes (lists and inspects, decoded into the
//! small structs of `read` and `swarm`: only the fields berth uses), and
//! service specs sent back exactly as Docker gave them (a spec decoded into
//! bollard's structs and encoded again would lose any field they do not
//! know).

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
        self.decode(&body, what)
    }

    /// The same, `None` when Docker answers 404 (no such container or
    /// network).
    pub(super) async fn get_json_opt<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<Option<T>, DockerError> {
        match super::absent(self.get_raw(path).await).map_err(|e| self.fail(what, &e))? {
            Some(body) => self.decode(&body, what).map(Some),
            None => Ok(None),
        }
    }

    /// `GET path`'s body, for a caller that reads Docker's refusals itself.
    pub(super) async fn get_raw(&self, path: &str) -> Result<Bytes, bollard::errors::Error> {
        self.timed(hyper::Method::GET, path, None).await
    }

    /// An answer's JSON decoded into the struct of the fields berth reads.
    /// UTF-8 is checked once for the whole body: `from_slice` checks each
    /// string (every key too) on its own, a sixth of the decoding's cost.
    pub(super) fn decode<T: DeserializeOwned>(
        &self,
        body: &[u8],
        what: &str,
    ) -> Result<T, DockerError> {
        let text = std::str::from_utf8(body).map_err(|e| DockerError::Api {
            what: what.to_string(),
            status: None,
            message: format!("Docker's answer is not UTF-8: {e}"),
        })?;
        serde_json::from_str(text).map_err(|e| self.fail(what, &e.into()))
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
        self.timed(method, path, body)
            .await
            .map_err(|e| self.fail(what, &e))
    }

    /// One exchange, bounded by the client's timeout.
    async fn timed(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, bollard::errors::Error> {
        match tokio::time::timeout(self.timeout, self.exchange(method, path, body)).await {
            Err(_) => Err(bollard::errors::Error::RequestTimeoutError),
            Ok(result) => result,
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
