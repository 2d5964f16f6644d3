//! Exports too large to answer in a response, written to the export bucket (S3, `EXPORT_BUCKET`)
//! and fetched through a presigned link that expires: one PutObject and one presigned
//! GetObject, signed with SigV4 by `aws-sigv4` (the signer the AWS SDK itself uses) over the
//! function's own credentials, so that no S3 SDK is compiled for two requests. The endpoint is
//! `AWS_ENDPOINT_URL_S3` when set (path-style: the local stack's moto), else the bucket's
//! regional virtual-hosted endpoint.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use channel_services::ports::{ExportError, ExportStore};

fn export_error(e: impl std::fmt::Display) -> ExportError {
    ExportError(e.to_string().chars().take(400).collect())
}

/// The export bucket.
#[derive(Debug, Clone)]
pub struct ExportBucket {
    http: reqwest::Client,
    config: aws_config::SdkConfig,
    bucket: String,
    endpoint: Option<String>,
    meter: crate::meter::Meter,
}

impl ExportBucket {
    /// The bucket `bucket` with the shared AWS configuration (its credentials and Region), its
    /// requests counted into `meter`.
    pub fn new(config: &aws_config::SdkConfig, bucket: String, meter: &crate::meter::Meter) -> Self {
        Self {
            http: reqwest::Client::new(),
            config: config.clone(),
            bucket,
            endpoint: crate::config::optional("AWS_ENDPOINT_URL_S3"),
            meter: meter.clone(),
        }
    }

    fn region(&self) -> String {
        self.config
            .region()
            .map_or_else(|| "us-east-1".to_owned(), ToString::to_string)
    }

    /// The URL of the bucket (`key` empty) or of one of its objects.
    fn url(&self, key: &str) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{}/{}/{key}", endpoint.trim_end_matches('/'), self.bucket),
            None => format!("https://{}.s3.{}.amazonaws.com/{key}", self.bucket, self.region()),
        }
    }

    async fn identity(&self) -> Result<Identity, ExportError> {
        let provider = self
            .config
            .credentials_provider()
            .ok_or_else(|| ExportError("no AWS credentials".into()))?;
        let credentials = provider.provide_credentials().await.map_err(export_error)?;
        Ok(credentials.into())
    }

    /// A request's signing headers (`Authorization`, `x-amz-date`, `x-amz-content-sha256`, the
    /// session token), for S3: its payload's hash signed, its path as given.
    async fn signed_headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, ExportError> {
        let identity = self.identity().await?;
        let region = self.region();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name("s3")
            .time(SystemTime::now())
            .settings(s3_settings(SignatureLocation::Headers, None))
            .build()
            .map_err(export_error)?
            .into();
        let signable = SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(body))
            .map_err(export_error)?;
        let (instructions, _) = sign(signable, &params).map_err(export_error)?.into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// Creates the bucket when it is missing (the local stack's, as the template makes it
    /// deployed): 1 CreateBucket, an answer that it exists already taken as done.
    pub async fn ensure(&self) -> Result<(), ExportError> {
        let url = self.url("");
        let signing = self.signed_headers("PUT", &url, &[], &[]).await?;
        let mut request = self.http.put(&url);
        for (k, v) in signing {
            request = request.header(k, v);
        }
        let answer = request.send().await.map_err(export_error)?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if status.is_success() || text.contains("BucketAlreadyOwnedByYou") || text.contains("BucketAlreadyExists") {
            return Ok(());
        }
        Err(ExportError(format!(
            "CreateBucket answered {status}: {}",
            text.chars().take(300).collect::<String>()
        )))
    }
}

/// SigV4 as S3 asks for it: the payload's SHA-256 in `x-amz-content-sha256`, the path encoded
/// once and never normalised; in the headers, or in the query for a presigned link.
fn s3_settings(location: SignatureLocation, expires_in: Option<Duration>) -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = location;
    settings.expires_in = expires_in;
    settings
}

/// A presigned GetObject link of `url` at `time`, valid for `valid_for`: the signature and its
/// parameters in the query (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
/// `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`, the session token).
pub fn presigned_get(
    identity: &Identity,
    region: &str,
    url: &str,
    time: SystemTime,
    valid_for: Duration,
) -> Result<String, ExportError> {
    let mut settings = s3_settings(SignatureLocation::QueryParams, Some(valid_for));
    // A presigned link's payload is never known: S3 signs it as UNSIGNED-PAYLOAD, in no header.
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(export_error)?
        .into();
    // The host header is signed from the URL itself.
    let signable =
        SignableRequest::new("GET", url, std::iter::empty(), SignableBody::UnsignedPayload).map_err(export_error)?;
    let (instructions, _) = sign(signable, &params).map_err(export_error)?.into_parts();
    let mut link = reqwest::Url::parse(url).map_err(export_error)?;
    {
        let mut query = link.query_pairs_mut();
        for (k, v) in instructions.params() {
            query.append_pair(k, v);
        }
    }
    Ok(link.to_string())
}

impl ExportStore for ExportBucket {
    /// 1 PutObject (encrypted at rest by the bucket's default), then a presigned GetObject link
    /// valid for `valid_for`.
    async fn publish(&self, key: &str, body: Vec<u8>, valid_for: Duration) -> Result<String, ExportError> {
        let url = self.url(key);
        let headers = [("content-type", "application/json")];
        let signing = self.signed_headers("PUT", &url, &headers, &body).await?;
        let mut request = self.http.put(&url).header("content-type", "application/json");
        for (k, v) in signing {
            request = request.header(k, v);
        }
        self.meter.record("s3:PutObject", &["s3:PutObject bucket"]);
        let answer = request.body(body).send().await.map_err(export_error)?;
        if !answer.status().is_success() {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            return Err(ExportError(format!(
                "PutObject answered {status}: {}",
                text.chars().take(300).collect::<String>()
            )));
        }
        // The link is authorised as this function's GetObject when it is followed.
        self.meter.record("s3:GetObject (presigned)", &["s3:GetObject bucket"]);
        presigned_get(
            &self.identity().await?,
            &self.region(),
            &url,
            SystemTime::now(),
            valid_for,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The presigned URL of AWS's own example (Amazon S3 API Reference, "Authenticating Requests:
    /// Using Query Parameters (AWS Signature Version 4)": GET examplebucket/test.txt at
    /// 2013-05-24T00:00:00Z, valid 86,400 s), signed as this module signs a link.
    #[test]
    fn a_link_is_signed_as_aws_documents_its_example() {
        let credentials = aws_credential_types::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "example",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let link = presigned_get(
            &credentials.into(),
            "us-east-1",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            time,
            Duration::from_secs(86_400),
        )
        .unwrap();
        assert!(
            link.ends_with("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            "{link}"
        );
        assert!(link.contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"));
    }
}
