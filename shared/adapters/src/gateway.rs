//! The TeleSign adapter: the messaging client behind the service layer's `SmsGateway`.

use std::time::Instant;

use crate::service::ports::SmsGateway;
use crate::telesign::validate::{probe, Validation};
use crate::telesign::{ApiHost, Credentials, MessageAnswer, SendSms, TelesignClient, TelesignError};

impl SmsGateway for TelesignClient {
    async fn send_sms(
        &self,
        creds: &Credentials,
        host: ApiHost,
        sms: &SendSms<'_>,
        deadline: Instant,
    ) -> Result<MessageAnswer, TelesignError> {
        TelesignClient::send_sms(self, creds, host, sms, deadline).await
    }

    async fn probe(&self, creds: &Credentials, host: ApiHost, deadline: Instant) -> Result<Validation, TelesignError> {
        probe(self, creds, host, deadline).await
    }
}
