//! Any bytes as a callback body: parsed or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::telesign::Callback;

fuzz_target!(|data: &[u8]| {
    if let Ok(Callback::Inbound(sms)) = Callback::parse(data) {
        // What the inbound function does next with what it read.
        let _ = shared::phone::normalise_any(&sms.customer_number);
        let _ = shared::sms::analyse(&sms.text);
        let _ = shared::conversation::consent_of(&sms.text, sms.action.as_deref());
    }
});
