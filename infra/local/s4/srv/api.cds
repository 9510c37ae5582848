// S/4's service paths: OData V4 at /odata/v4/<SERVICE>, and V2, S/4's format, at
// /sap/opu/odata/sap/<SERVICE> (the V2 adapter, package.json cds.cov2ap.path). Logon: Basic
// (package.json cds.requires.auth), as a communication user logs on to S/4.
using s4 from '../db/s4';

@path: 'API_BUSINESS_PARTNER'
@requires: 'authenticated-user'
service API_BUSINESS_PARTNER {
  entity A_BusinessPartner          as projection on s4.BusinessPartner;
  entity A_BusinessPartnerAddress   as projection on s4.BusinessPartnerAddress;
  entity A_BusinessPartnerTaxNumber as projection on s4.BusinessPartnerTaxNumber;
  entity A_Customer                 as projection on s4.Customer;
  entity A_CustomerSalesArea        as projection on s4.CustomerSalesArea;
  entity A_CustSalesPartnerFunc     as projection on s4.CustSalesPartnerFunc;
}

@path: 'API_PRODUCT_SRV'
@requires: 'authenticated-user'
service API_PRODUCT_SRV {
  entity A_Product            as projection on s4.Product;
  entity A_ProductDescription as projection on s4.ProductDescription;
  entity A_ProductPlant       as projection on s4.ProductPlant;
}

@path: 'API_SALES_ORDER_SRV'
@requires: 'authenticated-user'
service API_SALES_ORDER_SRV {
  entity A_SalesOrder            as projection on s4.SalesOrder;
  entity A_SalesOrderItem        as projection on s4.SalesOrderItem;
  entity A_SalesOrderHeaderPartner as projection on s4.SalesOrderHeaderPartner;
}
