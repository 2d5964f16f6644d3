//! The live connections of the console in the table: one item per audience a connection
//! listens to (`SOCKETS#<account>` or `SOCKETS#OPERATORS` / `<connection_id>`), and the
//! connection's own item naming them, each with the TTL `expires_at` (API Gateway closes a
//! connection after two hours; an item outlives a lost `$disconnect` only until then).

use crate::table::Key;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use serde::{Deserialize, Serialize};

use crate::table;
use channel_services::ports::{Audience, Connection, Connections, StoreError};

use super::items::{from_item, to_item};
use super::{key, s, sdk_error, Dynamo, Item};

/// A connection listed in an audience's partition.
#[derive(Debug, Serialize, Deserialize)]
struct ListenerItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    connection: Connection,
}

/// A connection's own item: the partitions it is listed in.
#[derive(Debug, Serialize, Deserialize)]
struct ConnectionItem {
    pk: String,
    sk: String,
    partitions: Vec<String>,
    expires_at: i64,
}

fn partition(audience: &Audience) -> String {
    match audience {
        Audience::Account(id) => table::listeners_partition(Some(id.as_str())),
        Audience::Operators => table::listeners_partition(None),
    }
}

fn put(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()));
    Ok(WriteRequest::builder().put_request(put?).build())
}

fn delete(pk: String, sk: String) -> Result<WriteRequest, StoreError> {
    let delete = DeleteRequest::builder()
        .set_key(Some(key(Key::new(pk, sk))))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()));
    Ok(WriteRequest::builder().delete_request(delete?).build())
}

impl Connections for Dynamo {
    async fn open(&self, c: &Connection, audiences: &[Audience]) -> Result<(), StoreError> {
        let partitions: Vec<String> = audiences.iter().map(partition).collect();
        let Key { pk, sk } = table::connection_key(&c.connection_id);
        let own = ConnectionItem {
            pk,
            sk,
            partitions: partitions.clone(),
            expires_at: c.expires_at,
        };
        let mut writes = vec![put(to_item(&own)?)?];
        for pk in partitions {
            let listener = ListenerItem {
                pk,
                sk: c.connection_id.clone(),
                connection: c.clone(),
            };
            writes.push(put(to_item(&listener)?)?);
        }
        for chunk in writes.chunks(25) {
            self.write_batch(chunk.to_vec()).await?;
        }
        Ok(())
    }

    async fn listening(&self, audience: &Audience) -> Result<Vec<Connection>, StoreError> {
        let values = [(":pk".to_owned(), s(partition(audience)))].into();
        let items = self.query_all(None, "pk = :pk", None, values).await?;
        let listeners = items
            .into_iter()
            .map(from_item::<ListenerItem>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(listeners.into_iter().map(|l| l.connection).collect())
    }

    async fn unlist(&self, audience: &Audience, connection_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(Key::new(partition(audience), connection_id))))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error)
    }

    async fn close(&self, connection_id: &str) -> Result<(), StoreError> {
        let own_key = table::connection_key(connection_id);
        let Some(item) = self.get(own_key.clone()).await? else {
            return Ok(());
        };
        let own: ConnectionItem = from_item(item)?;
        let mut writes = vec![delete(own_key.pk, own_key.sk)?];
        for pk in own.partitions {
            writes.push(delete(pk, connection_id.to_owned())?);
        }
        for chunk in writes.chunks(25) {
            self.write_batch(chunk.to_vec()).await?;
        }
        Ok(())
    }
}
